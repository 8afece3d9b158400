"""The invariants are enforced by PostgreSQL itself: writes that bypass the services still fail."""

from __future__ import annotations

import pytest
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from rag_data.models import Chunk, Document, Feedback, Query

from tests.fixtures import sha256

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _rejected(write):
    """Run one write in a savepoint and expect the database to refuse it."""
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


@pytest.mark.parametrize("rating", [-2, 2, 5, 100])
def test_rating_out_of_range_is_refused_by_postgres(make_query, rating):
    query = make_query()
    _rejected(lambda: Feedback.objects.create(query=query, rating=rating))


def test_rating_update_bypassing_the_model_is_refused(make_feedback):
    feedback = make_feedback(rating=1)
    _rejected(lambda: Feedback.objects.filter(pk=feedback.pk).update(rating=3))
    feedback.refresh_from_db()
    assert feedback.rating == 1


@pytest.mark.parametrize("rating", [-1, 0, 1])
def test_every_documented_rating_is_accepted(make_query, rating):
    assert Feedback.objects.create(query=make_query(), rating=rating).rating == rating


def test_unknown_review_state_is_refused(make_feedback):
    feedback = make_feedback()
    _rejected(lambda: Feedback.objects.filter(pk=feedback.pk).update(review_state="spam"))


def test_reviewed_state_requires_reviewed_at_and_new_forbids_it(make_feedback):
    feedback = make_feedback()
    pk = feedback.pk
    _rejected(lambda: Feedback.objects.filter(pk=pk).update(review_state="reviewed"))
    _rejected(lambda: Feedback.objects.filter(pk=pk).update(reviewed_at=timezone.now()))
    Feedback.objects.filter(pk=pk).update(review_state="dismissed", reviewed_at=timezone.now())


def test_query_latency_and_text_checks(make_query):
    _rejected(lambda: Query.objects.create(text="q", latency_ms=-1))
    _rejected(lambda: Query.objects.create(text="", latency_ms=1))


def test_feedback_follows_its_query_on_delete(make_feedback):
    feedback = make_feedback()
    feedback.query.delete()
    assert not Feedback.objects.filter(pk=feedback.pk).exists()


def test_document_constraints(make_document):
    make_document("doc-ok")
    _rejected(lambda: make_document("doc-ok"))  # unique document_id
    _rejected(lambda: make_document("bad id with spaces"))
    _rejected(lambda: make_document("doc-hash", content_hash="not-a-sha256"))
    _rejected(lambda: make_document("doc-upper", content_hash=sha256("x").upper()))
    # "complete" is refused until all three stores hold the document.
    _rejected(lambda: make_document("doc-half", status="complete", in_postgres=True, in_milvus=True))
    done = make_document("doc-done", status="complete", in_postgres=True, in_milvus=True, in_neo4j=True)
    _rejected(lambda: Document.objects.filter(pk=done.pk).update(in_neo4j=False))
    _rejected(lambda: Document.objects.filter(pk=done.pk).update(status="archived"))


def test_chunk_ordinal_unique_per_document_and_cascade(make_document, make_chunk):
    first, second = make_document(), make_document()
    make_chunk(first, 0, "alpha")
    make_chunk(second, 0, "alpha again")  # same ordinal, other document: fine
    _rejected(lambda: Chunk.objects.create(
        chunk_id="other-id", document=first, ordinal=0, text="dup", content_hash=sha256("dup")
    ))
    _rejected(lambda: Chunk.objects.create(
        chunk_id="neg", document=first, ordinal=-1, text="neg", content_hash=sha256("neg")
    ))
    first.delete()
    assert list(Chunk.objects.values_list("document__document_id", flat=True)) == [second.document_id]


def test_chunk_search_vector_is_stored_indexed_and_follows_the_text(make_document, make_chunk):
    document = make_document()
    make_chunk(document, 0, "Knowledge graphs connect entities across documents.")
    second = make_chunk(document, 1, "Vectors capture meaning for similarity search.")
    constraints = connection.introspection.get_constraints(connection.cursor(), Chunk._meta.db_table)
    assert constraints["rag_chunk_search_vector"]["type"] == "gin"
    assert constraints["rag_chunk_search_vector"]["columns"] == ["search_vector"]
    assert "rag_chunk_text_fts" not in constraints  # the old expression index, superseded

    search = Chunk.objects.filter(search_vector=SearchQuery("graph entity", config="english"))  # stemming
    assert [c.ordinal for c in search] == [0]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = search.explain()
    assert "rag_chunk_search_vector" in plan and "to_tsvector" not in plan

    Chunk.objects.filter(pk=second.pk).update(text="Entities of a knowledge graph.")  # PostgreSQL recomputes it
    assert sorted(c.ordinal for c in search.all()) == [0, 1]
    stored = Chunk.objects.filter(pk=second.pk).annotate(  # migration 0007: context weighs A, text B
        fresh=SearchVector("context", config="english", weight="A")
        + SearchVector("text", config="english", weight="B"),
    ).values_list("search_vector", "fresh").get()
    assert stored[0] == stored[1]


def test_str_is_short_and_carries_no_payload(make_feedback, make_document):
    feedback = make_feedback(rating=-1, comment="password=hunter2", query_text="x" * 500)
    assert str(feedback).startswith("thumbs down on query ")
    assert "hunter2" not in str(feedback)
    assert len(str(feedback.query)) <= 60
    assert str(make_document("doc-s")) == "doc-s"

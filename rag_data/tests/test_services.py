"""Services validate their input once and say which field is wrong."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError

from rag_data import services
from rag_data.models import Feedback, Session
from rag_data.tests.field_errors import field_error

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_record_query_stores_normalised_results_and_touches_session(make_query):
    session = services.touch_session(external_id="client-7", metadata={"ui": "chat"})
    before = session.last_seen_at
    query = make_query(
        session=session,
        parameters={"k": 5, "filters": {"lang": "en"}, "weights": {"vector": 0.7}, "hops": 2},
        results=[{"chunk_id": "c1", "document_id": "d1", "score": 1, "sources": "vector"}],
        stage_latency_ms={"vector": 3.0, "graph": 4},
    )
    query.refresh_from_db()
    assert query.results == [{"chunk_id": "c1", "document_id": "d1", "score": 1.0, "sources": ["vector"]}]
    assert query.parameters["hops"] == 2 and query.stage_latency_ms == {"vector": 3.0, "graph": 4.0}
    session.refresh_from_db()
    assert session.last_seen_at >= before and session.last_seen_at == query.created_at


def test_touch_session_reuses_an_existing_id():
    session = services.touch_session(external_id="u1")
    again = services.touch_session(session_id=str(session.id))
    assert again.pk == session.pk and again.external_id == "u1"
    new_id = uuid.uuid4()
    assert services.touch_session(session_id=new_id).pk == new_id
    assert Session.objects.count() == 2
    field_error(lambda: services.touch_session(session_id="nope"), "session_id")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"text": "   "}, "text"),
        ({"text": "x" * (services.MAX_QUERY_CHARS + 1)}, "text"),
        ({"latency_ms": -1}, "latency_ms"),
        ({"latency_ms": float("nan")}, "latency_ms"),
        ({"latency_ms": True}, "latency_ms"),
        ({"stage_latency_ms": {"graph": -2}}, "stage_latency_ms[graph]"),
        ({"parameters": ["k", 5]}, "parameters"),
        ({"results": [{"chunk_id": "c"}]}, "results"),
        ({"results": ["c1"]}, "results"),
        ({"results": [{"chunk_id": "c", "document_id": "d", "score": "high"}]}, "results"),
    ],
)
def test_record_query_rejects_bad_input(make_query, kwargs, field):
    field_error(lambda: make_query(**kwargs), field)


def test_record_feedback_on_a_returned_chunk(make_query):
    query = make_query()
    feedback = services.record_feedback(query_id=str(query.id), rating=-1, chunk_id="doc-b:3", comment="off topic")
    assert (feedback.rating, feedback.chunk_id, feedback.review_state) == (-1, "doc-b:3", "new")
    assert feedback.reviewed_at is None


@pytest.mark.parametrize("rating", [2, -2, 5, True, "1", None, 0.5])
def test_record_feedback_rejects_ratings_outside_the_thumb_scale(make_query, rating):
    message = field_error(lambda: services.record_feedback(query_id=make_query().id, rating=rating), "rating")
    assert "-1, 0, 1" in message


def test_record_feedback_validation_names_the_field(make_query):
    query = make_query()
    missing = uuid.uuid4()
    assert str(missing) in field_error(lambda: services.record_feedback(query_id=missing, rating=1), "query_id")
    field_error(lambda: services.record_feedback(query_id="not-a-uuid", rating=1), "query_id")
    field_error(lambda: services.record_feedback(query_id=query.id, rating=1, chunk_id="elsewhere:9"), "chunk_id")
    field_error(lambda: services.record_feedback(query_id=query.id, rating=1, chunk_id="c" * 129), "chunk_id")
    field_error(
        lambda: services.record_feedback(query_id=query.id, rating=1, comment="x" * (services.MAX_COMMENT_CHARS + 1)),
        "comment",
    )
    assert not Feedback.objects.exists()


def test_feedback_chunk_is_free_when_the_query_kept_no_results(make_query):
    query = make_query(results=[])
    assert services.record_feedback(query_id=query.id, rating=0, chunk_id="any:1").chunk_id == "any:1"


def test_mark_feedback_reviewed(make_feedback, django_user_model):
    alice = django_user_model.objects.create_user("alice", password="pw-alice-123")
    bob = django_user_model.objects.create_user("bob", password="pw-bob-123")
    first, second, third = make_feedback(), make_feedback(rating=-1), make_feedback(rating=0)
    everything = Feedback.objects.all()

    assert services.mark_feedback_reviewed(everything.filter(pk__in=[first.pk, second.pk]), alice) == 2
    # Rows already reviewed keep their first reviewer; only the third changes.
    assert services.mark_feedback_reviewed(everything, bob) == 1
    reviewers = dict(Feedback.objects.values_list("pk", "reviewed_by__username"))
    assert reviewers == {first.pk: "alice", second.pk: "alice", third.pk: "bob"}
    assert not Feedback.objects.filter(reviewed_at__isnull=True).exists()

    with pytest.raises(ValidationError):
        services.mark_feedback_reviewed(everything, AnonymousUser())


def test_set_review_state_round_trip(make_feedback, django_user_model):
    user = django_user_model.objects.create_user("carol", password="pw-carol-123")
    feedback = make_feedback()
    feedback = services.set_feedback_review_state(feedback.pk, "dismissed", user)
    assert feedback.reviewed_by == user and feedback.reviewed_at is not None
    feedback = services.set_feedback_review_state(feedback.pk, "new", user)
    assert feedback.reviewed_by is None and feedback.reviewed_at is None
    field_error(lambda: services.set_feedback_review_state(feedback.pk, "done", user), "review_state")
    assert services.dismiss_feedback(Feedback.objects.all(), user) == 1

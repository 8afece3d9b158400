"""Reviewed feedback promoted into evaluation sets: the service, the database's guards, and the admin pages."""

from __future__ import annotations

import pytest
from django.contrib.admin.utils import quote
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.urls import reverse

from rag_data import services
from rag_data.admin import results as rag_admin
from rag_data.models import EvaluationCase, Feedback
from rag_data.tests.field_errors import field_error

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def reviewer(django_user_model):
    return django_user_model.objects.create_user("rev", password="pw-rev-123", is_staff=True)


@pytest.fixture
def ledger(make_document, make_chunk):
    """Two documents with one chunk each, ids matching the default results of make_query (doc-a:0, doc-b:3)."""
    a = make_document("doc-a", title="Graph retrieval guide")
    b = make_document("doc-b", title="Keyword search notes")
    return {
        "doc-a:0": make_chunk(a, 0, "Graphs help retrieval: a knowledge graph links related documents."),
        "doc-b:3": make_chunk(b, 3, "Full text search ranks documents by the words they share with a question."),
    }


def _reviewed(feedback, user):
    services.mark_feedback_reviewed(Feedback.objects.filter(pk=feedback.pk), user)
    feedback.refresh_from_db()
    return feedback


# ---- the service ----------------------------------------------------------------------------------------------

def test_thumbs_up_on_a_chunk_makes_it_relevant_and_thumbs_down_waits(ledger, make_feedback, reviewer):
    up = _reviewed(make_feedback(rating=1, chunk_id="doc-b:3"), reviewer)
    down = _reviewed(make_feedback(rating=-1, chunk_id="doc-a:0", comment="wrong doc"), reviewer)
    whole = _reviewed(make_feedback(rating=1), reviewer)  # a thumb on the whole answer names no chunk

    promotion = services.promote_feedback([up.pk, down.pk, whole.pk], user=reviewer)

    assert len(promotion.created) == 3 and promotion.already_promoted == []
    case = EvaluationCase.objects.get(feedback=up)
    assert (case.set_name, case.query_text, case.created_by) == ("feedback", up.query.text, reviewer)
    assert case.relevant_chunk_ids == ["doc-b:3"] and case.relevant_document_ids == ["doc-b"] and case.is_ready
    assert {c.feedback_id for c in promotion.waiting} == {down.pk, whole.pk}
    assert EvaluationCase.objects.get(feedback=down).relevant_document_ids == []

    again = services.promote_feedback(Feedback.objects.filter(pk__in=[up.pk, down.pk]), user=reviewer)
    assert again.created == [] and again.already_promoted == sorted([up.pk, down.pk])
    other = services.promote_feedback([up.pk], set_name="team-b.v2", user=reviewer)  # another set: a new case
    assert [c.set_name for c in other.created] == ["team-b.v2"]
    assert EvaluationCase.objects.count() == 4


def test_explicit_relevant_chunks_and_a_chunk_gone_from_the_ledger(ledger, make_feedback, reviewer):
    down = _reviewed(make_feedback(rating=-1, chunk_id="doc-a:0"), reviewer)
    promotion = services.promote_feedback([down.pk], relevant_chunk_ids=["doc-b:3", "doc-a:0", "doc-b:3"],
                                          user=reviewer)
    case = promotion.created[0]
    assert case.relevant_chunk_ids == ["doc-b:3", "doc-a:0"]
    assert case.relevant_document_ids == ["doc-b", "doc-a"]

    ledger["doc-a:0"].delete()  # re-ingested since: the query's logged results still name its document
    updated = services.set_evaluation_case(case.pk, relevant_chunk_ids=["doc-a:0"], set_name="renamed")
    assert updated.relevant_document_ids == ["doc-a"] and updated.set_name == "renamed"
    message = field_error(lambda: services.set_evaluation_case(case.pk, relevant_chunk_ids=["nope:1"]),
                           "relevant_chunk_ids")
    assert "nope:1" in message


def test_unreviewed_feedback_is_refused_and_nothing_is_promoted(make_feedback, reviewer):
    reviewed = _reviewed(make_feedback(rating=1, chunk_id="doc-a:0"), reviewer)
    fresh = make_feedback(rating=-1)
    dismissed = make_feedback(rating=0)
    services.dismiss_feedback(Feedback.objects.filter(pk=dismissed.pk), reviewer)
    message = field_error(
        lambda: services.promote_feedback([reviewed.pk, fresh.pk, dismissed.pk], user=reviewer), "feedback_ids")
    assert message.startswith("2 of the 3 selected feedback item(s) are not reviewed (dismissed, new)")
    assert not EvaluationCase.objects.exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"feedback_ids": []}, "feedback_ids"),
        ({"feedback_ids": "12"}, "feedback_ids"),
        ({"feedback_ids": ["x"]}, "feedback_ids"),
        ({"feedback_ids": [987654]}, "feedback_ids"),
        ({"set_name": "has space"}, "set_name"),
        ({"set_name": ""}, "set_name"),
        ({"set_name": "x" * 65}, "set_name"),
        ({"relevant_chunk_ids": "doc-a:0"}, "relevant_chunk_ids"),
        ({"relevant_chunk_ids": [""]}, "relevant_chunk_ids"),
        ({"relevant_chunk_ids": ["unknown:9"]}, "relevant_chunk_ids"),
        ({"user": AnonymousUser()}, "user"),
        ({"user": None}, "user"),
    ],
)
def test_promote_feedback_names_the_bad_field(ledger, make_feedback, reviewer, kwargs, field):
    feedback = _reviewed(make_feedback(rating=-1), reviewer)
    arguments = {"feedback_ids": [feedback.pk], "user": reviewer, **kwargs}
    feedback_ids = arguments.pop("feedback_ids")
    field_error(lambda: services.promote_feedback(feedback_ids, **arguments), field)
    assert not EvaluationCase.objects.exists()


def test_the_database_guards_cases(make_feedback, reviewer):
    feedback = _reviewed(make_feedback(rating=-1), reviewer)
    EvaluationCase.objects.create(query_text="q", feedback=feedback)
    for fields in ({"query_text": "q", "feedback": feedback}, {"query_text": ""},
                   {"query_text": "q", "set_name": "bad name"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            EvaluationCase.objects.create(**fields)
    EvaluationCase.objects.create(query_text="q")  # hand-made cases (no feedback) are not unique per set
    EvaluationCase.objects.create(query_text="q")
    feedback.delete()  # the case outlives its feedback
    assert EvaluationCase.objects.filter(feedback__isnull=True).count() == 3


# ---- the admin's results table ----------------------------------------------------------------------------------

def test_highlighted_snippet_marks_query_words_and_escapes_everything():
    words = rag_admin.query_words("<script>alert(1)</script> How do GRAPHS help?")
    assert words == ["script", "alert", "graphs", "help"]
    html = str(rag_admin.highlighted_snippet("<b>graphs</b> help <script>x</script>", words))
    assert html == ("&lt;b&gt;<mark>graphs</mark>&lt;/b&gt; <mark>help</mark> "
                    "&lt;<mark>script</mark>&gt;x&lt;/<mark>script</mark>&gt;")
    long = "word " * 100 + "the graphs are here " + "tail " * 100
    snippet = str(rag_admin.highlighted_snippet(long, ["graph"]))
    assert snippet.startswith("…") and snippet.endswith("…") and "<mark>graphs</mark>" in snippet
    assert len(snippet) < rag_admin.SNIPPET_CHARS + 40
    assert str(rag_admin.highlighted_snippet("no match here", [])) == "no match here"


def test_results_table_reads_all_chunks_in_one_select(ledger, make_query, django_assert_num_queries):
    query = make_query(text="graphs help retrieval", results=[
        {"chunk_id": "doc-a:0", "document_id": "doc-a", "score": 0.9, "sources": ["vector"]},
        {"chunk_id": "doc-b:3", "document_id": "doc-b", "score": 0.5, "sources": ["keyword"]},
        {"chunk_id": "gone:7", "document_id": "gone", "score": 0.1, "sources": ["graph"]},
    ])
    with django_assert_num_queries(1):
        html = str(rag_admin.results_table(query.results, "doc-b:3", query_text=query.text,
                                           rated_label="rated: thumbs down", relevant_ids=["doc-a:0"]))
    assert "Graph retrieval guide" in html and "Keyword search notes" in html
    assert "<mark>Graphs</mark> <mark>help</mark> <mark>retrieval</mark>" in html
    assert reverse("admin:rag_data_chunk_change", args=[quote("doc-a:0")]) in html
    assert html.count('class="rag-rated"') == 1 and "◀ rated: thumbs down" in html
    assert "✔ relevant" in html and "chunk no longer in the ledger" in html


def test_feedback_page_shows_titles_snippets_links_and_the_rated_row(admin_client, ledger, make_query,
                                                                     make_feedback):
    query = make_query(text="<script>alert('x')</script> graphs retrieval")
    feedback = make_feedback(rating=-1, chunk_id="doc-b:3", comment="<i>not this one</i>", query=query)
    response = admin_client.get(reverse("admin:rag_data_feedback_change", args=[feedback.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "<script>alert(" not in body and "&lt;script&gt;alert(" in body
    assert "Graph retrieval guide" in body and "<mark>Graphs</mark>" in body and "<mark>retrieval</mark>" in body
    assert reverse("admin:rag_data_chunk_change", args=[quote("doc-a:0")]) in body
    assert '<tr class="rag-rated"' in body and "◀ rated: thumbs down" in body
    chunk_page = admin_client.get(reverse("admin:rag_data_chunk_change", args=[quote("doc-a:0")]))
    assert chunk_page.status_code == 200 and "knowledge graph" in chunk_page.content.decode()


def test_feedback_changelist_shows_the_comment_truncated(admin_client, make_feedback):
    make_feedback(rating=-1, comment="short <b>remark</b>")
    make_feedback(rating=-1, comment="long " + "x" * 200)
    body = admin_client.get(reverse("admin:rag_data_feedback_changelist")).content.decode()
    assert "short &lt;b&gt;remark&lt;/b&gt;" in body
    assert "long " + "x" * 54 + "…" in body and "x" * 60 not in body


# ---- the admin's promotion and the case page ------------------------------------------------------------------

def test_promote_action_refuses_unreviewed_feedback(admin_client, make_feedback):
    fresh = make_feedback(rating=1, chunk_id="doc-a:0")
    response = admin_client.post(reverse("admin:rag_data_feedback_changelist"),
                                 {"action": "promote_to_evaluation", "_selected_action": [fresh.pk]}, follow=True)
    body = response.content.decode()
    assert "1 of the 1 selected feedback item(s) are not reviewed (new)" in body
    assert "Nothing was promoted." in body and not EvaluationCase.objects.exists()


def test_promote_action_then_a_reviewer_picks_the_relevant_chunk(admin_client, admin_user, ledger,
                                                                 make_feedback):
    up = _reviewed(make_feedback(rating=1, chunk_id="doc-a:0"), admin_user)
    down = _reviewed(make_feedback(rating=-1, chunk_id="doc-a:0"), admin_user)
    response = admin_client.post(reverse("admin:rag_data_feedback_changelist"),
                                 {"action": "promote_to_evaluation", "_selected_action": [up.pk, down.pk]},
                                 follow=True)
    body = response.content.decode()
    assert "2 feedback item(s) promoted to the evaluation set &#x27;feedback&#x27;." in body
    assert "1 case(s) have no relevant chunk yet" in body
    assert f'{reverse("admin:rag_data_evaluationcase_changelist")}?ready=no' in body

    waiting = EvaluationCase.objects.get(feedback=down)
    listing = admin_client.get(reverse("admin:rag_data_evaluationcase_changelist"), {"ready": "no"})
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset) == [waiting]

    url = reverse("admin:rag_data_evaluationcase_change", args=[waiting.pk])
    page = admin_client.get(url).content.decode()
    assert "Keyword search notes" in page and "◀ rated: thumbs down" in page  # the results to choose from
    refused = admin_client.post(url, {"set_name": "feedback", "relevant_chunks": "doc-b:3\nmissing:1"})
    assert refused.status_code == 200 and "Unknown chunk id(s): missing:1" in refused.content.decode()
    saved = admin_client.post(url, {"set_name": "feedback", "relevant_chunks": " doc-b:3 \n\n"})
    assert saved.status_code == 302
    waiting.refresh_from_db()
    assert waiting.relevant_chunk_ids == ["doc-b:3"] and waiting.relevant_document_ids == ["doc-b"]
    assert "✔ relevant" in admin_client.get(url).content.decode()
    assert admin_client.get(reverse("admin:rag_data_evaluationcase_add")).status_code == 403


def test_promotion_needs_the_add_permission_on_cases(client, django_user_model, make_feedback):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("viewer", password="pw-viewer-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_feedback", "change_feedback"]))
    client.force_login(user)
    feedback = _reviewed(make_feedback(rating=1, chunk_id="doc-a:0"), user)
    response = client.get(reverse("admin:rag_data_feedback_changelist"))
    assert "promote_to_evaluation" not in response.content.decode()
    client.post(reverse("admin:rag_data_feedback_changelist"),
                {"action": "promote_to_evaluation", "_selected_action": [feedback.pk]})
    assert not EvaluationCase.objects.exists()

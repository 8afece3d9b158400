"""The admin pages a reviewer uses, rendered for a staff user through Django's test client."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from rag_data.models import Feedback

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

CHANGELISTS = ["feedback", "query", "session", "document", "chunk"]


def _changelist(model):
    return reverse(f"admin:rag_data_{model}_changelist")


@pytest.fixture
def reviewed_queue(make_query, make_feedback):
    """Three feedback rows whose query texts tell them apart in the changelist."""
    bad = make_feedback(rating=-1, comment="cites the wrong doc", query_text="alpha question")
    Feedback.objects.filter(pk=bad.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))
    good = make_feedback(rating=1, chunk_id="doc-a:0", query=make_query(text="bravo question"))
    neutral = make_feedback(rating=0, query_text="charlie question")
    return {"alpha": bad, "bravo": good, "charlie": neutral}


def _shown(response):
    body = response.content.decode()
    return {name for name in ("alpha", "bravo", "charlie") if f"{name} question" in body}


@pytest.mark.parametrize("model", CHANGELISTS)
def test_anonymous_users_are_sent_to_login(client, model):
    url = _changelist(model)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login")) and "next=" in response["Location"]


def test_anonymous_cannot_run_actions(client, reviewed_queue):
    pks = [f.pk for f in reviewed_queue.values()]
    response = client.post(_changelist("feedback"), {"action": "export_csv", "_selected_action": pks})
    assert response.status_code == 302 and reverse("admin:login") in response["Location"]
    assert not Feedback.objects.exclude(review_state="new").exists()


@pytest.mark.parametrize("model", CHANGELISTS)
def test_changelists_render_for_staff(admin_client, reviewed_queue, make_document, make_chunk, model):
    make_chunk(make_document(), 0, "some chunk text")
    assert admin_client.get(_changelist(model)).status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, {"alpha", "bravo", "charlie"}),
        ({"rating__exact": "-1"}, {"alpha"}),
        ({"rating__exact": "1"}, {"bravo"}),
        ({"review_state__exact": "new"}, {"alpha", "bravo", "charlie"}),
        ({"review_state__exact": "reviewed"}, set()),
        ("past_7_days", {"bravo", "charlie"}),
        ("date_hierarchy_old", {"alpha"}),
        ({"q": "wrong doc"}, {"alpha"}),  # comment
        ({"q": "bravo"}, {"bravo"}),  # query text
        ({"q": "doc-a:0"}, {"bravo"}),  # chunk id
    ],
)
def test_feedback_changelist_filters_and_search(admin_client, reviewed_queue, params, expected):
    if params == "past_7_days":
        # The same aware bounds DateFieldListFilter puts in its "Past 7 days" link.
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        params = {"created_at__gte": str(today - datetime.timedelta(days=7)),
                  "created_at__lt": str(today + datetime.timedelta(days=1))}
    elif params == "date_hierarchy_old":
        created = timezone.localtime(Feedback.objects.get(pk=reviewed_queue["alpha"].pk).created_at)
        params = {"created_at__year": created.year, "created_at__month": created.month,
                  "created_at__day": created.day}
    response = admin_client.get(_changelist("feedback"), params)
    assert response.status_code == 200
    assert _shown(response) == expected


def test_feedback_change_page_shows_escaped_results_table(admin_client, make_query, make_feedback):
    query = make_query(text="xss probe", results=[
        {"chunk_id": "doc-a:0", "document_id": "<script>alert(1)</script>", "score": 0.9, "sources": ["vector"]},
        {"chunk_id": "doc-b:1", "document_id": "doc-b", "score": 0.25, "sources": ["graph", "keyword"]},
    ])
    feedback = make_feedback(rating=-1, chunk_id="doc-b:1", comment="<b>bold</b>", query=query)
    response = admin_client.get(reverse("admin:rag_data_feedback_change", args=[feedback.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert '<table class="rag-results">' in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    assert "&lt;b&gt;bold&lt;/b&gt;" in body
    assert "0.2500" in body and "graph, keyword" in body and "◀ rated" in body
    assert reverse("admin:rag_data_query_change", args=[query.pk]) in body


def test_feedback_change_page_saves_review_state(admin_client, admin_user, make_feedback):
    feedback = make_feedback()
    url = reverse("admin:rag_data_feedback_change", args=[feedback.pk])
    response = admin_client.post(url, {"review_state": "dismissed"})
    assert response.status_code == 302
    feedback.refresh_from_db()
    assert feedback.review_state == "dismissed" and feedback.reviewed_by == admin_user
    assert feedback.reviewed_at is not None
    assert admin_client.get(reverse("admin:rag_data_feedback_add")).status_code == 403


def test_mark_as_reviewed_action(admin_client, admin_user, reviewed_queue):
    chosen = [reviewed_queue["alpha"].pk, reviewed_queue["charlie"].pk]
    response = admin_client.post(
        _changelist("feedback"), {"action": "mark_reviewed", "_selected_action": chosen}, follow=True
    )
    assert response.status_code == 200
    assert "2 feedback item(s) marked as reviewed." in response.content.decode()
    reviewed = Feedback.objects.filter(review_state="reviewed")
    assert set(reviewed.values_list("pk", flat=True)) == set(chosen)
    assert all(f.reviewed_by == admin_user and f.reviewed_at for f in reviewed)
    assert Feedback.objects.get(pk=reviewed_queue["bravo"].pk).review_state == "new"


def test_export_csv_action_streams_selected_rows(admin_client, make_query, make_feedback, reviewed_queue):
    hostile = make_feedback(rating=-1, comment="=cmd|' /C calc'!A0",
                            query=make_query(text="@SUM(1+1)", results=[]), chunk_id="-x")
    chosen = [hostile.pk, reviewed_queue["bravo"].pk]
    response = admin_client.post(_changelist("feedback"), {"action": "export_csv", "_selected_action": chosen})
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="feedback-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["feedback_id", "created_at", "rating"]
    assert {r[0] for r in rows[1:]} == {str(pk) for pk in chosen}
    row = next(r for r in rows[1:] if r[0] == str(hostile.pk))
    assert (row[2], row[5], row[6], row[7]) == ("-1", "'@SUM(1+1)", "'-x", "'=cmd|' /C calc'!A0")


def test_query_change_page_is_read_only_with_feedback_inline(admin_client, make_feedback):
    feedback = make_feedback(rating=-1, comment="inline comment here")
    response = admin_client.get(reverse("admin:rag_data_query_change", args=[feedback.query_id]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "inline comment here" in body and '<table class="rag-results">' in body
    assert 'name="_save"' not in body  # view-only
    assert admin_client.get(reverse("admin:rag_data_query_add")).status_code == 403


def test_document_and_chunk_status_filters(admin_client, make_document, make_chunk):
    failed = make_document("doc-failed", status="failed", in_postgres=True, last_error="Milvus timeout")
    done = make_document("doc-done", status="complete", in_postgres=True, in_milvus=True, in_neo4j=True)
    make_chunk(failed, 0, "text of the failed one")
    make_chunk(done, 0, "text of the done one")

    def listed(model, params):
        body = admin_client.get(_changelist(model), params).content.decode()
        return {name for name in ("doc-failed", "doc-done") if f"{name}:0" in body or f">{name}<" in body}

    assert listed("document", {"status__exact": "failed"}) == {"doc-failed"}
    assert listed("document", {"in_milvus__exact": "1"}) == {"doc-done"}
    assert listed("document", {"q": "done"}) == {"doc-done"}
    assert listed("chunk", {"document__status__exact": "complete"}) == {"doc-done"}
    assert listed("chunk", {"document__status__exact": "failed"}) == {"doc-failed"}
    assert admin_client.get(reverse("admin:rag_data_document_change", args=[failed.pk])).status_code == 200

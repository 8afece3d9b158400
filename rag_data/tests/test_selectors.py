"""The reviewer's queue filters and the CSV export, including the formula-injection guard."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from rag_data import selectors, services
from rag_data.models import Feedback

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def queue(make_feedback, django_user_model):
    reviewer = django_user_model.objects.create_user("rev", password="pw-rev-123")
    old = make_feedback(rating=-1, comment="wrong document", query_text="old question")
    Feedback.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=10))
    up = make_feedback(rating=1, comment="great", query_text="graph hops")
    meh = make_feedback(rating=0, query_text="neutral one")
    services.mark_feedback_reviewed(Feedback.objects.filter(pk=up.pk), reviewer)
    return {"old": old.pk, "up": up.pk, "meh": meh.pk}


def _pks(filters):
    return {f.pk for f in selectors.feedback_for_review(filters)}


def test_feedback_for_review_filters(queue):
    assert _pks(None) == set(queue.values())
    assert _pks({"review_state": "new"}) == {queue["old"], queue["meh"]}
    assert _pks({"review_state": ["reviewed", "dismissed"]}) == {queue["up"]}
    assert _pks({"rating": -1}) == {queue["old"]}
    assert _pks({"rating": ["0", "1"]}) == {queue["up"], queue["meh"]}
    week_ago = timezone.now() - datetime.timedelta(days=7)
    assert _pks({"since": week_ago}) == {queue["up"], queue["meh"]}
    assert _pks({"until": week_ago.date().isoformat()}) == {queue["old"]}
    assert _pks({"search": "GRAPH"}) == {queue["up"]}  # matches the query text
    assert _pks({"search": "wrong doc"}) == {queue["old"]}  # matches the comment
    ordered = [f.pk for f in selectors.feedback_for_review()]
    assert ordered[-1] == queue["old"]


@pytest.mark.parametrize(
    "filters", [{"colour": "red"}, {"review_state": "closed"}, {"rating": "bad"}, {"since": "yesterday"}]
)
def test_feedback_for_review_rejects_bad_filters(filters):
    with pytest.raises(ValidationError):
        selectors.feedback_for_review(filters)


def test_csv_rows_content_and_formula_guard(make_query, make_feedback, django_user_model):
    query = make_query(text="=HYPERLINK(\"http://evil\")", results=[])
    feedback = make_feedback(rating=-1, chunk_id="@c1", comment="+SUM(A1:A9)", query=query)
    make_feedback(rating=1, comment="-2+3 plain")
    rows = list(selectors.feedback_csv_rows(Feedback.objects.all()))

    assert rows[0] == selectors.CSV_HEADER
    assert len(rows) == 3
    row = dict(zip(rows[0], next(r for r in rows[1:] if r[0] == str(feedback.pk)), strict=True))
    assert row["query_text"] == "'=HYPERLINK(\"http://evil\")"
    assert row["comment"] == "'+SUM(A1:A9)"
    assert row["chunk_id"] == "'@c1"
    assert row["rating"] == "-1"  # a number, not a formula: written as is
    assert row["review_state"] == "new" and row["reviewed_by"] == "" and row["reviewed_at"] == ""
    assert row["query_id"] == str(query.id)
    assert datetime.datetime.fromisoformat(row["created_at"]) == feedback.created_at
    assert any(r[7] == "'-2+3 plain" for r in rows[1:])


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@A1", "'@A1"), ("\tx", "'\tx"),
     ("\r=x", "'\r=x"), ("plain", "plain"), ("a=b", "a=b"), (None, ""), (-1, "-1"), (2.5, "2.5")],
)
def test_csv_safe(value, expected):
    assert selectors.csv_safe(value) == expected


def test_result_rows_tolerates_malformed_json():
    rows = selectors.result_rows(
        [{"chunk_id": "c", "document_id": "d", "score": 0.5, "sources": ["vector", "graph"]}, "junk",
         {"chunk_id": "e", "score": "n/a"}]
    )
    assert rows == [
        {"chunk_id": "c", "document_id": "d", "score": "0.5000", "sources": "vector, graph"},
        {"chunk_id": "e", "document_id": "", "score": "", "sources": ""},
    ]
    assert selectors.result_rows({"not": "a list"}) == []

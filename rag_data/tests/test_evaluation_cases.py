"""Reviewed feedback promoted into evaluation sets: the service and the database's guards."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from rag_data import services
from rag_data.models import EvaluationCase, Feedback

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


def _field_error(call, field):
    with pytest.raises(ValidationError) as caught:
        call()
    assert field in caught.value.message_dict, caught.value.message_dict
    return caught.value.message_dict[field][0]


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
    message = _field_error(lambda: services.set_evaluation_case(case.pk, relevant_chunk_ids=["nope:1"]),
                           "relevant_chunk_ids")
    assert "nope:1" in message


def test_unreviewed_feedback_is_refused_and_nothing_is_promoted(make_feedback, reviewer):
    reviewed = _reviewed(make_feedback(rating=1, chunk_id="doc-a:0"), reviewer)
    fresh = make_feedback(rating=-1)
    dismissed = make_feedback(rating=0)
    services.dismiss_feedback(Feedback.objects.filter(pk=dismissed.pk), reviewer)
    message = _field_error(
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
    _field_error(lambda: services.promote_feedback(feedback_ids, **arguments), field)
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

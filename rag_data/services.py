"""Writes for the rag_data app. Callers (API views, the admin, commands) come here instead of saving models,
so validation happens once and fails with a ValidationError that names the offending field.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from rag_data.models import IDENTIFIER_MAX, Feedback, Query, Session

MAX_QUERY_CHARS = 10_000
MAX_COMMENT_CHARS = 5_000


def touch_session(*, session_id=None, external_id: str = "", metadata: Mapping | None = None) -> Session:
    """Return the session `session_id` (creating it if new) with last_seen_at moved to now."""
    if len(external_id) > 255:
        raise ValidationError({"external_id": "At most 255 characters."})
    now = timezone.now()
    if session_id is None:
        return Session.objects.create(external_id=external_id, metadata=dict(metadata or {}), last_seen_at=now)
    session_id = _as_uuid(session_id, "session_id")
    defaults = {"last_seen_at": now}
    if external_id:
        defaults["external_id"] = external_id
    if metadata is not None:
        defaults["metadata"] = dict(metadata)
    session, _ = Session.objects.update_or_create(id=session_id, defaults=defaults)
    return session


def record_query(
    *,
    text: str,
    latency_ms: float,
    parameters: Mapping | None = None,
    results: Iterable[Mapping] | None = None,
    stage_latency_ms: Mapping[str, float] | None = None,
    session: Session | None = None,
) -> Query:
    """Store one retrieval request with its ranked results and timings."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"text": "The query text is empty."})
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationError({"text": f"At most {MAX_QUERY_CHARS} characters."})
    latency = _non_negative(latency_ms, "latency_ms")
    stages = {str(name): _non_negative(value, f"stage_latency_ms[{name}]")
              for name, value in dict(stage_latency_ms or {}).items()}
    if parameters is not None and not isinstance(parameters, Mapping):
        raise ValidationError({"parameters": "Expected a mapping (k, filters, weights, hops, ...)."})
    rows = [_result_row(position, row) for position, row in enumerate(results or [])]

    query = Query(
        session=session, text=text, latency_ms=latency, parameters=dict(parameters or {}),
        results=rows, stage_latency_ms=stages,
    )
    with transaction.atomic():
        query.save()
        if session is not None:
            Session.objects.filter(pk=session.pk).update(last_seen_at=query.created_at)
    return query


def record_feedback(query_id, rating, chunk_id: str | None = None, comment: str = "") -> Feedback:
    """Store a thumbs-down/neutral/up verdict on a query, or on one chunk the query returned."""
    query_uuid = _as_uuid(query_id, "query_id")
    query = Query.objects.filter(pk=query_uuid).only("id", "results").first()
    if query is None:
        raise ValidationError({"query_id": f"No query with id {query_uuid}."})
    if isinstance(rating, bool) or rating not in Feedback.Rating.values:
        allowed = ", ".join(str(v) for v in Feedback.Rating.values)
        raise ValidationError({"rating": f"Expected one of {allowed} (thumbs down, neutral, thumbs up)."})
    chunk_id = (chunk_id or "").strip()
    if len(chunk_id) > IDENTIFIER_MAX:
        raise ValidationError({"chunk_id": f"At most {IDENTIFIER_MAX} characters."})
    returned = {str(row.get("chunk_id")) for row in query.results if isinstance(row, Mapping)}
    if chunk_id and returned and chunk_id not in returned:
        raise ValidationError({"chunk_id": f"Chunk {chunk_id!r} is not among this query's results."})
    if not isinstance(comment, str):
        raise ValidationError({"comment": "Expected text."})
    if len(comment) > MAX_COMMENT_CHARS:
        raise ValidationError({"comment": f"At most {MAX_COMMENT_CHARS} characters."})
    return Feedback.objects.create(query=query, rating=int(rating), chunk_id=chunk_id, comment=comment)


def mark_feedback_reviewed(queryset: QuerySet[Feedback], user) -> int:
    """Mark the selected feedback reviewed by `user`; rows already reviewed keep their reviewer. Returns the count."""
    return _set_review_state(queryset, Feedback.ReviewState.REVIEWED, user)


def dismiss_feedback(queryset: QuerySet[Feedback], user) -> int:
    """Mark the selected feedback dismissed (not actionable) by `user`. Returns the count changed."""
    return _set_review_state(queryset, Feedback.ReviewState.DISMISSED, user)


def set_feedback_review_state(feedback_id, state: str, user) -> Feedback:
    """Move one feedback row to `state`, keeping reviewed_by/reviewed_at consistent with it."""
    if state not in Feedback.ReviewState.values:
        raise ValidationError({"review_state": f"Unknown review state {state!r}."})
    with transaction.atomic():
        feedback = Feedback.objects.select_for_update().get(pk=feedback_id)
        if state == Feedback.ReviewState.NEW:
            feedback.reviewed_by, feedback.reviewed_at = None, None
        elif state != feedback.review_state:
            feedback.reviewed_by, feedback.reviewed_at = _reviewer(user), timezone.now()
        feedback.review_state = state
        feedback.save(update_fields=["review_state", "reviewed_by", "reviewed_at"])
    return feedback


def _set_review_state(queryset: QuerySet[Feedback], state: str, user) -> int:
    return queryset.exclude(review_state=state).update(
        review_state=state, reviewed_by=_reviewer(user), reviewed_at=timezone.now()
    )


def _reviewer(user):
    if user is None or not getattr(user, "is_authenticated", False):
        raise ValidationError("A review needs an authenticated reviewer.")
    return user


def _as_uuid(value, field: str) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError({field: "Not a valid UUID."}) from None


def _non_negative(value, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValidationError({field: "Expected a finite, non-negative number of milliseconds."})
    return float(value)


def _result_row(position: int, row) -> dict:
    if not isinstance(row, Mapping):
        raise ValidationError({"results": f"Result {position} is not a mapping."})
    missing = [key for key in ("chunk_id", "document_id", "score") if key not in row]
    if missing:
        raise ValidationError({"results": f"Result {position} lacks {', '.join(missing)}."})
    score = row["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise ValidationError({"results": f"Result {position} has a score that is not a finite number."})
    sources = row.get("sources") or []
    if isinstance(sources, str):
        sources = [sources]
    return {"chunk_id": str(row["chunk_id"]), "document_id": str(row["document_id"]),
            "score": float(score), "sources": [str(s) for s in sources]}

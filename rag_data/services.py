"""Writes for the rag_data app. Callers (API views, the admin, commands) come here instead of saving models,
so validation happens once and fails with a ValidationError that names the offending field.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from rag_data import inserts, selectors, validation
from rag_data.models import IDENTIFIER_MAX, Chunk, EvaluationCase, Feedback, Query, Session

MAX_QUERY_CHARS = 10_000
MAX_COMMENT_CHARS = 5_000


def touch_session(*, session_id=None, external_id: str = "", metadata: Mapping | None = None) -> Session:
    """Return the session `session_id` (creating it if new) with last_seen_at moved to now."""
    if len(external_id) > 255:
        raise ValidationError({"external_id": "At most 255 characters."})
    now = timezone.now()
    if session_id is None:
        return Session.objects.create(external_id=external_id, metadata=dict(metadata or {}), last_seen_at=now)
    session_id = validation.as_uuid(session_id, "session_id")
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
    api_key=None,
) -> Query:
    """Store one retrieval request with its ranked results and timings."""
    if not isinstance(text, str) or not text.strip():
        raise ValidationError({"text": "The query text is empty."})
    if len(text) > MAX_QUERY_CHARS:
        raise ValidationError({"text": f"At most {MAX_QUERY_CHARS} characters."})
    latency = validation.non_negative_ms(latency_ms, "latency_ms")
    stages = {str(name): validation.non_negative_ms(value, f"stage_latency_ms[{name}]")
              for name, value in dict(stage_latency_ms or {}).items()}
    if parameters is not None and not isinstance(parameters, Mapping):
        raise ValidationError({"parameters": "Expected a mapping (k, filters, weights, hops, ...)."})
    rows = [validation.result_row(position, row) for position, row in enumerate(results or [])]

    query = Query(
        session=session, text=text, latency_ms=latency, parameters=dict(parameters or {}),
        results=rows, stage_latency_ms=stages, api_key=api_key,
    )
    if session is None:
        return inserts.insert(query)  # one autocommit INSERT (atomic on its own), its SQL built once
    with transaction.atomic():
        inserts.insert(query)
        Session.objects.filter(pk=session.pk).update(last_seen_at=query.created_at)
    return query


def record_feedback(*, query_id, rating, chunk_id: str | None = None, comment: str = "", api_key=None) -> Feedback:
    """Store a thumbs-down/neutral/up verdict on a query, or on one chunk the query returned (`api_key`: the
    apikeys.ApiKey that sent it, if any)."""
    query_uuid = validation.as_uuid(query_id, "query_id")
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
    return Feedback.objects.create(query=query, rating=int(rating), chunk_id=chunk_id, comment=comment,
                                   api_key=api_key)


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


@dataclass
class Promotion:
    """What promote_feedback did: the cases it created, and the feedback already in the set (left as it was)."""

    created: list[EvaluationCase] = field(default_factory=list)
    already_promoted: list[int] = field(default_factory=list)

    @property
    def waiting(self) -> list[EvaluationCase]:
        """Created cases without relevant chunks yet: a reviewer picks them on the case's admin page."""
        return [case for case in self.created if not case.relevant_chunk_ids]


def promote_feedback(feedback_ids, *, relevant_chunk_ids=None, set_name: str = "feedback", user) -> Promotion:
    """Turn reviewed feedback into EvaluationCases of the set `set_name` (all or nothing).

    Relevant chunks: `relevant_chunk_ids` when given (for every selected feedback); otherwise a thumbs-up on a
    chunk makes that chunk relevant, and every other feedback (thumbs down, neutral, a thumb on the whole
    answer) becomes a case without relevant chunks, which the evaluation skips until a reviewer chooses them.
    Feedback already promoted to this set is left alone. Only feedback in the "reviewed" state is accepted.
    """
    creator = _authenticated(user, "user")
    set_name = validation.set_name(set_name)
    ids = validation.feedback_ids(feedback_ids)
    explicit = None if relevant_chunk_ids is None else validation.chunk_id_list(relevant_chunk_ids)
    with transaction.atomic():
        rows = list(Feedback.objects.select_related("query").select_for_update(of=("self",)).filter(pk__in=ids))
        missing = sorted(set(ids) - {f.pk for f in rows})
        if missing:
            raise ValidationError({"feedback_ids": f"No feedback with id(s) {', '.join(map(str, missing))}."})
        unreviewed = [f for f in rows if f.review_state != Feedback.ReviewState.REVIEWED]
        if unreviewed:
            states = ", ".join(sorted({f.review_state for f in unreviewed}))
            raise ValidationError({"feedback_ids": (
                f"{len(unreviewed)} of the {len(rows)} selected feedback item(s) are not reviewed ({states}); "
                "only reviewed feedback can be promoted. Nothing was promoted.")})
        done = set(EvaluationCase.objects.filter(set_name=set_name, feedback__in=rows)
                   .values_list("feedback_id", flat=True))
        promotion = Promotion(already_promoted=sorted(done))
        for feedback in sorted(rows, key=lambda f: f.created_at):
            if feedback.pk in done:
                continue
            if explicit is not None:
                chunks = explicit
            elif feedback.rating == Feedback.Rating.UP and feedback.chunk_id:
                chunks = [feedback.chunk_id]
            else:
                chunks = []
            case = EvaluationCase(set_name=set_name, query_text=feedback.query.text, feedback=feedback,
                                  created_by=creator, relevant_chunk_ids=chunks,
                                  relevant_document_ids=_documents_of(chunks, feedback.query.results))
            case.save()
            promotion.created.append(case)
    return promotion


def set_evaluation_case(case_id, *, relevant_chunk_ids, set_name: str | None = None) -> EvaluationCase:
    """Replace a case's relevant chunks (and re-derive their documents); optionally move it to another set."""
    chunks = validation.chunk_id_list(relevant_chunk_ids)
    with transaction.atomic():
        case = EvaluationCase.objects.select_for_update(of=("self",)).select_related("feedback__query") \
            .filter(pk=case_id).first()
        if case is None:
            raise ValidationError({"case_id": f"No evaluation case with id {case_id}."})
        results = case.feedback.query.results if case.feedback_id else []
        case.relevant_chunk_ids = chunks
        case.relevant_document_ids = _documents_of(chunks, results)
        if set_name is not None:
            case.set_name = validation.set_name(set_name)
            if case.feedback_id and selectors.feedback_is_case_elsewhere(
                    set_name=case.set_name, feedback_id=case.feedback_id, case_id=case.pk):
                raise ValidationError({"set_name": f"This feedback is already a case of the set {case.set_name!r}."})
        case.save(update_fields=["relevant_chunk_ids", "relevant_document_ids", "set_name", "updated_at"])
    return case


def relevant_documents_for(relevant_chunk_ids, results=()) -> tuple[list[str], list[str]]:
    """(chunk ids, their documents), checked as promote_feedback/set_evaluation_case check them; for forms."""
    chunks = validation.chunk_id_list(relevant_chunk_ids)
    return chunks, _documents_of(chunks, results)


def _documents_of(chunk_ids: list[str], results) -> list[str]:
    """The document of each chunk, from the ledger (one SELECT), else from the query's logged results (a chunk
    since replaced by a re-ingestion); a chunk known to neither is refused."""
    if not chunk_ids:
        return []
    documents = dict(Chunk.objects.filter(chunk_id__in=chunk_ids).values_list("chunk_id", "document__document_id"))
    logged = {str(row.get("chunk_id")): str(row.get("document_id")) for row in results or []
              if isinstance(row, Mapping) and row.get("document_id")}
    unknown = [c for c in chunk_ids if c not in documents and c not in logged]
    if unknown:
        raise ValidationError({"relevant_chunk_ids": f"Unknown chunk id(s): {', '.join(unknown)} (neither in the "
                                                     "ledger nor among the query's results)."})
    return list(dict.fromkeys(documents.get(c) or logged[c] for c in chunk_ids))


def _authenticated(user, field_name: str):
    if user is None or not getattr(user, "is_authenticated", False):
        raise ValidationError({field_name: "Promotion needs an authenticated reviewer."})
    return user


def _set_review_state(queryset: QuerySet[Feedback], state: str, user) -> int:
    return queryset.exclude(review_state=state).update(
        review_state=state, reviewed_by=_reviewer(user), reviewed_at=timezone.now()
    )


def _reviewer(user):
    if user is None or not getattr(user, "is_authenticated", False):
        raise ValidationError("A review needs an authenticated reviewer.")
    return user




# The keyword leg chooses and weighs a question's words by PostgreSQL's statistics on the chunks' search vector
# (retrieval.selectors.TERM_STATS). Autovacuum refreshes them only a minute or more after a bulk write, and
# without them every word counts as rare: right after a first ingest the keyword ranking was near random
# (dev hit@5 0.29 against 0.82 once analyzed). So a write that changes a large share of the table analyzes it.
STATISTICS_SHARE = 0.2


def refresh_search_statistics(written_chunks: int) -> bool:
    """ANALYZE the chunks' search vector when `written_chunks` is a large share of the table (STATISTICS_SHARE)
    or the column has no statistics yet; True if it ran. One sampled pass (~0.1 s at 10k chunks)."""
    if written_chunks <= 0:
        return False
    table = Chunk._meta.db_table
    column = Chunk._meta.get_field("search_vector").column
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.reltuples, EXISTS (SELECT 1 FROM pg_stats s WHERE s.schemaname = current_schema() "
                       "AND s.tablename = c.relname AND s.attname = %s) FROM pg_class c WHERE c.oid = to_regclass(%s)",
                       [column, table])
        row = cursor.fetchone()
        if row is None:
            return False
        rows, analyzed = max(float(row[0] or 0), 0.0), row[1]
        if analyzed and written_chunks < STATISTICS_SHARE * rows:
            return False
        quote = connection.ops.quote_name
        cursor.execute(f"ANALYZE {quote(table)} ({quote(column)})")  # identifiers from the model, no values
    return True

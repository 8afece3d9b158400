"""Reads for the rag_data app: the reviewer's feedback queue, its CSV export, query results for display."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Iterator, Mapping

from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from rag_data.models import Chunk, Document, EvaluationCase, Feedback, Query

FEEDBACK_FILTERS = frozenset({"review_state", "rating", "since", "until", "chunk_id", "search"})
CSV_HEADER = [
    "feedback_id", "created_at", "rating", "review_state", "query_id", "query_text",
    "chunk_id", "comment", "reviewed_by", "reviewed_at",
]
# Spreadsheet programs evaluate a cell that starts with one of these as a formula (CSV injection).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def feedback_for_review(filters: Mapping | None = None) -> QuerySet[Feedback]:
    """Feedback newest first, narrowed by `filters` (review_state, rating, since, until, chunk_id, search).

    review_state and rating accept one value or a list; since/until bound created_at (inclusive/exclusive).
    """
    filters = dict(filters or {})
    unknown = set(filters) - FEEDBACK_FILTERS
    if unknown:
        raise ValidationError(f"Unknown feedback filter(s): {', '.join(sorted(unknown))}.")
    queryset = Feedback.objects.select_related("query", "reviewed_by").order_by("-created_at")
    if filters.get("review_state") not in (None, ""):
        states = _as_list(filters["review_state"])
        bad = [s for s in states if s not in Feedback.ReviewState.values]
        if bad:
            raise ValidationError({"review_state": f"Unknown review state(s): {', '.join(map(str, bad))}."})
        queryset = queryset.filter(review_state__in=states)
    if filters.get("rating") not in (None, ""):
        try:
            ratings = [int(r) for r in _as_list(filters["rating"])]
        except (TypeError, ValueError):
            raise ValidationError({"rating": "Expected -1, 0 or 1."}) from None
        queryset = queryset.filter(rating__in=ratings)
    if filters.get("since"):
        queryset = queryset.filter(created_at__gte=_as_datetime(filters["since"], "since"))
    if filters.get("until"):
        queryset = queryset.filter(created_at__lt=_as_datetime(filters["until"], "until"))
    if filters.get("chunk_id"):
        queryset = queryset.filter(chunk_id=filters["chunk_id"])
    if filters.get("search"):
        term = str(filters["search"])
        queryset = queryset.filter(
            Q(comment__icontains=term) | Q(query__text__icontains=term) | Q(chunk_id__icontains=term)
        )
    return queryset


def feedback_csv_rows(queryset: QuerySet[Feedback]) -> Iterator[list[str]]:
    """The header, then one row per feedback, streamed from the database in chunks; every cell is CSV-safe."""
    yield list(CSV_HEADER)
    rows = queryset.select_related("query", "reviewed_by").order_by("-created_at")
    for feedback in rows.iterator(chunk_size=500):
        reviewer = feedback.reviewed_by.get_username() if feedback.reviewed_by else ""
        yield [
            csv_safe(value) for value in (
                feedback.pk, feedback.created_at, feedback.rating, feedback.review_state,
                feedback.query_id, feedback.query.text, feedback.chunk_id, feedback.comment,
                reviewer, feedback.reviewed_at,
            )
        ]


def csv_safe(value) -> str:
    """Text for one CSV cell; user text that a spreadsheet would run as a formula gets a leading quote.

    Numbers are written as they are: a negative rating (-1) is a number to a spreadsheet, not a formula.
    """
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, (bool, int, float)):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_PREFIXES) else text


def result_rows(results) -> list[dict]:
    """Query.results normalised for display; entries that are not mappings are skipped, missing keys blank."""
    rows = []
    for entry in results if isinstance(results, list) else []:
        if not isinstance(entry, Mapping):
            continue
        sources = entry.get("sources") or []
        if isinstance(sources, str) or not isinstance(sources, Iterable):
            sources = [sources]
        score = entry.get("score")
        rows.append({
            "chunk_id": str(entry.get("chunk_id", "")),
            "document_id": str(entry.get("document_id", "")),
            "score": f"{score:.4f}" if isinstance(score, (int, float)) and not isinstance(score, bool) else "",
            "sources": ", ".join(str(s) for s in sources),
        })
    return rows


def chunk_texts(rows: Iterable[Mapping]) -> dict[str, dict]:
    """{chunk_id: {"text", "document_id", "title"}} for the chunks of `rows` still in the ledger, in one SELECT."""
    ids = sorted({row["chunk_id"] for row in rows if row.get("chunk_id")})
    if not ids:
        return {}
    found = Chunk.objects.filter(chunk_id__in=ids).values_list("chunk_id", "text", "document__document_id",
                                                               "document__title")
    return {chunk_id: {"text": text, "document_id": document_id, "title": title or document_id}
            for chunk_id, text, document_id, title in found}


def evaluation_cases(set_name: str | None = None) -> QuerySet[EvaluationCase]:
    """The evaluation cases of one set (all sets: None), oldest first within each set."""
    queryset = EvaluationCase.objects.order_by("set_name", "created_at", "pk")
    return queryset if set_name is None else queryset.filter(set_name=set_name)


def feedback_is_case_elsewhere(*, set_name: str, feedback_id: int, case_id=None) -> bool:
    """Whether the feedback is already a case of the set other than `case_id`: a feedback is at most one case
    per set, and the form says so before the database's unique constraint would."""
    return EvaluationCase.objects.filter(set_name=set_name, feedback_id=feedback_id).exclude(pk=case_id).exists()


def _as_list(value) -> list:
    return list(value) if isinstance(value, (list, tuple, set, frozenset)) else [value]


def _as_datetime(value, field: str) -> datetime.datetime:
    if isinstance(value, datetime.datetime):
        moment = value
    elif isinstance(value, datetime.date):
        moment = datetime.datetime.combine(value, datetime.time.min)
    else:
        try:
            moment = datetime.datetime.fromisoformat(str(value))
        except ValueError:
            raise ValidationError({field: "Expected an ISO date or datetime."}) from None
    return timezone.make_aware(moment) if timezone.is_naive(moment) else moment


def query_exists(query_id) -> bool:
    return Query.objects.filter(pk=query_id).exists()


DOCUMENT_FIELDS = ("document_id", "title", "source_path", "status", "in_postgres", "in_milvus", "in_neo4j",
                   "last_error", "created_at", "updated_at")


def documents_page(*, status: str | None = None, offset: int = 0, limit: int = 20) -> tuple[int, list[dict]]:
    """(count, rows) of ledger documents in document_id order, optionally of one status; each row with its
    chunk count. Two queries whatever the page size."""
    documents = Document.objects.all() if status is None else Document.objects.filter(status=status)
    rows = list(documents.order_by("document_id").annotate(chunk_count=_chunk_count())
                .values(*DOCUMENT_FIELDS, "chunk_count")[offset:offset + limit])
    return documents.count(), rows


def document_detail(document_id: str) -> dict | None:
    """One ledger document with its chunk count, or None."""
    return (Document.objects.filter(document_id=document_id).annotate(chunk_count=_chunk_count())
            .values(*DOCUMENT_FIELDS, "chunk_count").first())


def _chunk_count():
    """A per-row subquery (not a JOIN + GROUP BY over every document): counted only for the rows returned."""
    counted = (Chunk.objects.filter(document=OuterRef("pk")).order_by().values("document")
               .annotate(n=Count("*")).values("n"))
    return Coalesce(Subquery(counted), 0)

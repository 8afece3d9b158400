"""Reads for the rag_data app: the reviewer's feedback queue, its CSV export, and query results for display."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Iterator, Mapping

from django.core.exceptions import ValidationError
from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db.models import Q, QuerySet
from django.utils import timezone

from rag_data.models import Chunk, Document, Feedback, Query

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


# --- retrieval reads (rag_data.retrieval, rag_data.api) ---------------------------------------------------

_WORDS = re.compile(r"\w+", re.UNICODE)
# Web-search syntax the user may type on purpose: a quoted phrase, a -negation or an explicit "or".
_WEBSEARCH_SYNTAX = re.compile(r'"|(?:^|\s)-\w|(?:^|\s)or(?:\s|$)', re.IGNORECASE)
KEYWORD_MAX_TERMS = 64


def keyword_query_text(text: str) -> str:
    """The websearch_to_tsquery input for `text`.

    Plain words are ORed ("a or b or c"): a natural-language question rarely has every word in one chunk,
    and ts_rank still puts chunks that match more of the words first. Text that already uses web-search
    syntax ("a phrase", -word, or) is passed through unchanged. websearch_to_tsquery never raises a
    syntax error, whatever the input.
    """
    if _WEBSEARCH_SYNTAX.search(text):
        return text
    words = list(dict.fromkeys(word.lower() for word in _WORDS.findall(text)))[:KEYWORD_MAX_TERMS]
    return " or ".join(words)


def keyword_ranking(text: str, limit: int) -> list[str]:
    """Chunk ids of complete documents matching `text` in PostgreSQL full-text search ('english'), best first.

    The WHERE clause is the very expression of the GIN index rag_chunk_text_fts, so the index is used;
    the text travels as a query parameter.
    """
    query_text = keyword_query_text(text)
    if not query_text.strip():
        return []
    query = SearchQuery(query_text, search_type="websearch", config="english")
    document = SearchVector("text", config="english")
    return list(
        Chunk.objects.annotate(fts=document)
        .filter(fts=query, document__status=Document.Status.COMPLETE)
        .annotate(rank=SearchRank(document, query))
        .order_by("-rank", "chunk_id")
        .values_list("chunk_id", flat=True)[:limit]
    )


def query_exists(query_id) -> bool:
    return Query.objects.filter(pk=query_id).exists()

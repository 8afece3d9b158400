"""Reads for retrieval: the keyword (full-text) ranking and the hydration of candidates from PostgreSQL."""

from __future__ import annotations

import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

from rag_data.models import Chunk, Document


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

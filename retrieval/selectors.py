"""Reads for retrieval: the keyword (full-text) ranking over the stored Chunk.search_vector column.

The tsvector is computed once, when a chunk is written (a generated column, migration 0003), and indexed by
GIN (rag_chunk_search_vector): a search only matches the index and ranks the stored vectors of the matching
rows, instead of running to_tsvector() over the text of every candidate chunk at query time.
"""

from __future__ import annotations

import functools
import re
import threading
import time

from django.conf import settings
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connection
from django.db.models import F, QuerySet

from rag_data.models import Chunk, Document
from textmodels.extractors import phrase_counts

_WORDS = re.compile(r"\w+", re.UNICODE)
# Web-search syntax the user may type on purpose: a quoted phrase, a -negation or an explicit "or".
_WEBSEARCH_SYNTAX = re.compile(r'"|(?:^|\s)-\w|(?:^|\s)or(?:\s|$)', re.IGNORECASE)
KEYWORD_MAX_TERMS = 64
CONFIG = "english"
# ts_rank with normalization 1 (divided by 1 + log(length): long chunks do not win merely by repeating words),
# ranking by every word of the question. Chosen on the dev sets (docs/evaluation.md): ts_rank_cd (cover
# density), normalizations 0/2/32, ranking by the selective words only and a boost for chunks holding all the
# words (plainto_tsquery) all scored lower.
COVER_DENSITY = False
NORMALIZATION = 1
# ts_rank weights of the lexeme classes D, C, B, A: A is Chunk.context (document title, section headings), B the
# chunk text (migration 0007). A title/heading word counts about twice a body word; chosen on the dev sets.
RANK_WEIGHTS = (0.1, 0.2, 0.55, 1.0)


STATS_TTL_SECONDS = 300.0


def keyword_query_text(text: str, *, selective: bool = False) -> str:
    """The websearch_to_tsquery input for `text`.

    Plain words are ORed ("a or b or c"): a natural-language question rarely has every word in one chunk,
    and the rank still puts chunks that match more of the words first. Text that already uses web-search
    syntax ("a phrase", -word, or) is passed through unchanged. websearch_to_tsquery never raises a
    syntax error, whatever the input.

    selective=True keeps only the words worth matching on (selective_words): the query that finds the
    candidates, while the rank still weighs every word.
    """
    if _WEBSEARCH_SYNTAX.search(text):
        return text
    words = _plain_words(text)
    return " or ".join(selective_words(words) if selective else words)


def _plain_words(text: str) -> list[str]:
    return list(dict.fromkeys(word.lower() for word in _WORDS.findall(text)))[:KEYWORD_MAX_TERMS]


class _TermStats:
    """Fraction of chunks holding each frequent lexeme, from PostgreSQL's own statistics on search_vector
    (pg_stats.most_common_elems, kept by ANALYZE / autovacuum), cached for STATS_TTL_SECONDS per process.
    A lexeme not listed is rarer than every listed one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded_at = -STATS_TTL_SECONDS
        self._freqs: dict[str, float] = {}
        self._rows = 0.0

    def get(self) -> tuple[dict[str, float], float]:
        now = time.monotonic()
        if now - self._loaded_at >= STATS_TTL_SECONDS:
            with self._lock:
                if now - self._loaded_at >= STATS_TTL_SECONDS:
                    self._freqs, self._rows = self._load()
                    self._loaded_at = now
        return self._freqs, self._rows

    def clear(self) -> None:
        with self._lock:
            self._loaded_at = -STATS_TTL_SECONDS

    @staticmethod
    def _load() -> tuple[dict[str, float], float]:
        table = Chunk._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples "
                "FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema() "
                "AND s.tablename = c.relname AND s.attname = 'search_vector' "
                "WHERE c.oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
        if row is None or not row[0] or not row[1]:
            return {}, float(row[2] or 0) if row else 0.0
        elems, freqs, rows = row
        return dict(zip(elems, freqs)), float(max(rows or 0, 0))


TERM_STATS = _TermStats()


# A word's lexemes under CONFIG never change, so they are asked of PostgreSQL once per word and process (the
# lookup was a round trip on every keyword search); the cache is emptied when it reaches LEXEME_CACHE_MAX words.
LEXEME_CACHE_MAX = 50_000
_LEXEMES: dict[str, list[str]] = {}


def word_lexemes(words: list[str]) -> dict[str, list[str]]:
    """{word: its lexemes under CONFIG} ([] for a stop word), from PostgreSQL's to_tsvector, cached per word."""
    missing = [word for word in dict.fromkeys(words) if word not in _LEXEMES]
    if missing:
        with connection.cursor() as cursor:
            cursor.execute("SELECT word, tsvector_to_array(to_tsvector(%s::regconfig, word)) "
                           "FROM unnest(%s::text[]) AS word", [CONFIG, missing])
            found = dict(cursor.fetchall())
        if len(_LEXEMES) + len(missing) > LEXEME_CACHE_MAX:
            _LEXEMES.clear()
        _LEXEMES.update({word: list(found.get(word) or []) for word in missing})
    return {word: _LEXEMES.get(word, []) for word in words}


def selective_words(words: list[str]) -> list[str]:
    """The words that find keyword candidates: every rare word, plus the frequent ones, rarest first, while the
    chunks they are estimated to match stay within SEARCH_KEYWORD_CANDIDATES; at least the rarest word.

    A common word ("set", "return", "use") matches a large share of the chunks, and ranking them all is what
    costs time; a chunk that has only common words of the question is rarely the answer. Without statistics
    (a table never analyzed) every word is kept.
    """
    budget = settings.SEARCH_KEYWORD_CANDIDATES
    if not budget or len(words) <= 1:
        return words
    freqs, rows = TERM_STATS.get()
    if not freqs or rows <= budget:
        return words
    lexemes = word_lexemes(words)
    frequency = {}
    for word in words:
        found = lexemes.get(word) or []
        if found:  # a stop word has no lexeme and matches nothing anyway
            frequency[word] = min(freqs.get(lexeme, 0.0) for lexeme in found)
    if not frequency:
        return words
    kept, estimate = [], 0.0
    for word in sorted(frequency, key=lambda w: (frequency[w], words.index(w))):
        matches = frequency[word] * rows
        if kept and frequency[word] > 0 and estimate + matches > budget:
            break
        kept.append(word)
        estimate += matches
    return [word for word in words if word in kept]


def keyword_queryset(text: str, limit: int) -> QuerySet | None:
    """The keyword ranking as a queryset of chunk ids (best first), or None when `text` has no searchable word.

    `search_vector @@ query` is answered by the GIN index rag_chunk_search_vector; the rank reads the stored
    vector. The text travels as a query parameter. bench/search.py times this very SQL.

    No join with the documents: the search keeps only chunks of complete documents when it hydrates the hits
    (visible_chunks), and a join here hashed every document row on every search (half the query's time at
    100k chunks, BENCHMARKS.md). A document being written can take a slot of the ranking for that moment.
    """
    query_text = keyword_query_text(text)
    if not query_text.strip():
        return None
    query = SearchQuery(query_text, search_type="websearch", config=CONFIG)
    match_text = keyword_query_text(text, selective=True)
    match = query if match_text == query_text else SearchQuery(match_text, search_type="websearch", config=CONFIG)
    rank = SearchRank(F("search_vector"), query, weights=list(RANK_WEIGHTS), normalization=NORMALIZATION,
                      cover_density=COVER_DENSITY)
    return (
        Chunk.objects.filter(search_vector=match)
        .annotate(rank=rank)
        .order_by("-rank", "chunk_id")
        .values_list("chunk_id", flat=True)[:limit]
    )


def keyword_ranking(text: str, limit: int) -> list[str]:
    """Chunk ids matching `text` in PostgreSQL full-text search ('english'), best first (any ledger status: the
    caller keeps the complete documents' ones, as the search's hydration does)."""
    queryset = keyword_queryset(text, limit)
    return [] if queryset is None else list(queryset)


@functools.cache
def _visible_chunks_sql() -> str:
    """The hydration query, built once from the models' metadata (identifiers only; every value is a parameter)."""
    q = connection.ops.quote_name
    chunk, document = Chunk._meta, Document._meta
    column = lambda meta, name: q(meta.get_field(name).column)  # noqa: E731
    return (f"SELECT c.{column(chunk, 'chunk_id')}, d.{column(document, 'document_id')}, c.{column(chunk, 'text')} "
            f"FROM {q(chunk.db_table)} c JOIN {q(document.db_table)} d "
            f"ON d.{q(document.pk.column)} = c.{column(chunk, 'document')} "
            f"WHERE c.{column(chunk, 'chunk_id')} = ANY(%s) AND d.{column(document, 'status')} = %s")


def visible_chunks(chunk_ids) -> dict[str, tuple[str, str]]:
    """{chunk_id: (document_id, text)} for the given chunks whose document is complete in all three stores.

    One indexed query on every search, so its SQL is built once rather than compiled by the ORM per call
    (the same rows as Chunk.objects.filter(chunk_id__in=..., document__status=COMPLETE)).
    """
    ids = list(chunk_ids)
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_visible_chunks_sql(), [ids, Document.Status.COMPLETE.value])
        return {chunk_id: (document_id, text) for chunk_id, document_id, text in cursor.fetchall()}


QUERY_CONCEPTS_MAX = 32


def query_concepts(text: str) -> list[str]:
    """The phrases of a query that may name graph concepts: the extractor's 1- to 3-word content phrases
    (stop words out), longer than two characters, at most QUERY_CONCEPTS_MAX."""
    return [phrase for phrase in phrase_counts(text) if len(phrase) > 2][:QUERY_CONCEPTS_MAX]


_document_count = {"at": -STATS_TTL_SECONDS, "n": 0}


def document_count() -> int:
    """Complete documents in the ledger (for the graph leg's idf), counted at most every STATS_TTL_SECONDS."""
    now = time.monotonic()
    if now - _document_count["at"] >= STATS_TTL_SECONDS:
        _document_count["n"] = Document.objects.filter(status=Document.Status.COMPLETE).count()
        _document_count["at"] = now
    return _document_count["n"]

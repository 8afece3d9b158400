"""Reads for retrieval: the keyword (full-text) ranking over the stored Chunk.search_vector column (its query texts:
retrieval.keyword_text), the hydration of the hits, the query's concepts for the graph leg.

The tsvector is computed once, when a chunk is written (a generated column, migration 0003), and indexed by
GIN (rag_chunk_search_vector): a search only matches the index and ranks the stored vectors of the matching
rows, instead of running to_tsvector() over the text of every candidate chunk at query time.
"""

from __future__ import annotations

import functools
import threading
import time

from django.conf import settings
from django.db import connection

from rag_data.chunk_metadata import chunk_metadata
from rag_data.models import Chunk, Document
from retrieval import keyword_text
from retrieval.keyword_text import uses_websearch_syntax
from textmodels.extractors import phrase_counts

CONFIG = "english"
# ts_rank with normalization 1 (divided by 1 + log(length): long chunks do not win merely by repeating words).
# Chosen on the dev sets (docs/evaluation.md): ts_rank_cd (cover density), normalizations 0/2/32, ranking by the
# selective words only and a boost for chunks holding all the words (plainto_tsquery) all scored lower.
NORMALIZATION = 1
# ts_rank weights of the lexeme classes D, C, B, A: A is Chunk.context (document title, section headings), B the
# chunk text (migration 0007). A title/heading word counts about twice a body word; chosen on the dev sets.
RANK_WEIGHTS = (0.1, 0.2, 0.55, 1.0)
# Plain-word questions: the first IDF_RERANKED candidates by ts_rank (every word alike) are ranked again by the sum
# over the question's words of idf(word) x ts_rank(word), the idf from PostgreSQL's own statistics (TERM_STATS): a
# common word weighs less than a rare one. Re-ranking every candidate scored the same on the dev sets and costs
# more (docs/evaluation.md 3d). IDF_RANK False: ts_rank alone. Web-search syntax always ranks by its own query.
IDF_RANK = True
IDF_RERANKED = 100


STATS_TTL_SECONDS = 300.0


class _TermStats:
    """Fraction of chunks holding each frequent lexeme, from PostgreSQL's own statistics on search_vector
    (pg_stats.most_common_elems, kept by ANALYZE / autovacuum), cached for STATS_TTL_SECONDS per process.
    A lexeme not listed is rarer than every listed one (get()'s third value: the smallest listed fraction)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loaded_at = -STATS_TTL_SECONDS
        self._stats: tuple[dict[str, float], float, float] = ({}, 0.0, 0.0)

    def get(self) -> tuple[dict[str, float], float, float]:
        """(fraction of chunks per listed lexeme, estimated chunk count, smallest listed fraction)."""
        now = time.monotonic()
        if now - self._loaded_at >= STATS_TTL_SECONDS:
            with self._lock:
                if now - self._loaded_at >= STATS_TTL_SECONDS:
                    self._stats = self._load()
                    self._loaded_at = now
        return self._stats

    def clear(self) -> None:
        with self._lock:
            self._loaded_at = -STATS_TTL_SECONDS

    @staticmethod
    def _load() -> tuple[dict[str, float], float, float]:
        table = Chunk._meta.db_table
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT s.most_common_elems::text::text[], s.most_common_elem_freqs, c.reltuples "
                "FROM pg_class c LEFT JOIN pg_stats s ON s.schemaname = current_schema() "
                "AND s.tablename = c.relname AND s.attname = 'search_vector' "
                "WHERE c.oid = to_regclass(%s)", [table])
            row = cursor.fetchone()
        if row is None or not row[0] or not row[1]:
            return {}, float(row[2] or 0) if row else 0.0, 0.0
        elems, freqs, rows = row
        listed = dict(zip(elems, freqs))  # the array's three extra values (min, max, nulls) are left out
        return listed, float(max(rows or 0, 0)), min(listed.values())


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


def word_fractions(words: list[str]) -> tuple[dict[str, float], float, float]:
    """({word: fraction of chunks holding it} for the words that have a lexeme (stop words left out; a word of
    several lexemes counts by its rarest), estimated chunk count, the smallest fraction listed). A word rarer
    than every listed one has 0.0 (it is below the third value); without statistics (a table never analyzed)
    every fraction is 0.0: nothing is known to be common."""
    listed, rows, floor = TERM_STATS.get()
    lexemes = word_lexemes(words)
    fractions = {}
    for word in words:
        found = lexemes.get(word) or []
        if found:  # a stop word has no lexeme and matches nothing anyway
            fractions[word] = min(listed.get(lexeme, 0.0) for lexeme in found)
    return fractions, rows, floor


def selective_words(words: list[str], fractions: dict[str, float] | None = None, rows: float | None = None) \
        -> list[str]:
    """The words that find keyword candidates: every rare word, plus the frequent ones, rarest first, while the
    chunks they are estimated to match stay within SEARCH_KEYWORD_CANDIDATES; at least the rarest word.

    A common word ("set", "return", "use") matches a large share of the chunks, and ranking them all is what
    costs time; a chunk that has only common words of the question is rarely the answer. Without statistics
    (a table never analyzed) every word is kept.
    """
    budget = settings.SEARCH_KEYWORD_CANDIDATES
    if not budget or len(words) <= 1:
        return words
    if fractions is None:
        fractions, rows, _ = word_fractions(words)
    if not any(fractions.values()) or rows <= budget:
        return words
    kept, estimate = [], 0.0
    for word in sorted(fractions, key=lambda w: (fractions[w], words.index(w))):
        matches = fractions[word] * rows
        if kept and fractions[word] > 0 and estimate + matches > budget:
            break
        kept.append(word)
        estimate += matches
    return [word for word in words if word in kept]


def _keyword_parameters(text: str, limit: int) -> tuple[bool, dict] | None:
    """(rank by idf, the keyword SQL's parameters) for `text`, or None when it has no searchable word."""
    common = {"config": CONFIG, "weights": list(RANK_WEIGHTS), "normalization": NORMALIZATION, "limit": limit,
              "ranked": settings.SEARCH_KEYWORD_RANKED or None,  # LIMIT NULL: every candidate is ranked
              "reranked": max(IDF_RERANKED, limit) if IDF_RERANKED else None}
    if uses_websearch_syntax(text):
        if not text.strip():
            return None
        return False, {**common, "query": text, "match": text, "pairs": "", "tiered": False, "words": [],
                       "idfs": []}
    words = keyword_text.plain_words(text)
    if not words:
        return None
    fractions, rows, floor = word_fractions(words)
    if not floor:  # no statistics yet (a table never analyzed): no word is known to be common, so the cap would
        common["ranked"] = None  # keep the first matches in table order, not the best: every match is ranked
    content = [word for word in words if word in fractions]
    match = selective_words(words, fractions, rows)
    pairs = keyword_text.two_of([word for word in match if word in fractions]) if common["ranked"] else ""
    idf = IDF_RANK and bool(content)
    return idf, {**common, "query": keyword_text.any_of(words), "match": keyword_text.any_of(match),
                 "pairs": pairs, "tiered": bool(pairs), "words": content if idf else [],
                 "idfs": [keyword_text.idf(max(fractions[word], floor)) for word in content] if idf else []}


@functools.cache
def _keyword_sql(idf: bool) -> str:
    """The keyword ranking, built once from the models' metadata (identifiers only; every value, the user's text
    included, is a parameter). Candidates: the chunks holding two of the selective words (selective_words),
    then those holding one of them, at most %(ranked)s of them in all; they alone are
    ranked. Both candidate sets are answered by the GIN index rag_chunk_search_vector; the rank reads the stored
    vector of the candidates only."""
    q = connection.ops.quote_name
    meta = Chunk._meta
    chunk_id, vector = q(meta.get_field("chunk_id").column), q(meta.get_field("search_vector").column)
    tsquery = "websearch_to_tsquery(%(config)s::regconfig, {})"
    rank = f"ts_rank(%(weights)s::float4[], c.{vector}, {tsquery.format('%(query)s')}, %(normalization)s)"
    ranked_from, terms = "candidates", ""
    if idf:
        terms = (f", terms AS MATERIALIZED (SELECT {tsquery.format('u.word')} AS query, u.idf "
                 f"FROM unnest(%(words)s::text[], %(idfs)s::float8[]) AS u(word, idf)), "
                 f"first AS (SELECT c.{chunk_id}, c.{vector} FROM candidates c "
                 f"ORDER BY {rank} DESC, c.{chunk_id} LIMIT %(reranked)s)")
        rank = (f"(SELECT sum(t.idf * ts_rank(%(weights)s::float4[], c.{vector}, t.query, %(normalization)s)) "
                f"FROM terms t)")
        ranked_from = "first"
    return (f"WITH candidates AS (("
            f"SELECT {chunk_id}, {vector} FROM {q(meta.db_table)} "
            f"WHERE %(tiered)s AND {vector} @@ {tsquery.format('%(pairs)s')} LIMIT %(ranked)s"
            f") UNION ALL ("
            f"SELECT {chunk_id}, {vector} FROM {q(meta.db_table)} "
            f"WHERE {vector} @@ CASE WHEN %(tiered)s THEN {tsquery.format('%(match)s')} && !! "
            f"{tsquery.format('%(pairs)s')} ELSE {tsquery.format('%(match)s')} END LIMIT %(ranked)s"
            f") LIMIT %(ranked)s){terms} "
            f"SELECT c.{chunk_id} FROM {ranked_from} c ORDER BY {rank} DESC, c.{chunk_id} LIMIT %(limit)s")


def keyword_sql(text: str, limit: int) -> tuple[str, dict] | None:
    """The keyword ranking of `text` as (SQL, parameters): chunk ids, best first, at most `limit`; None when
    `text` has no searchable word. The SQL is one of two strings built once; bench/search.py times this very
    query.

    No join with the documents: the search keeps only chunks of complete documents when it hydrates the hits
    (visible_chunks), and a join here hashed every document row on every search (half the query's time at
    100k chunks, BENCHMARKS.md). A document being written can take a slot of the ranking for that moment.
    """
    found = _keyword_parameters(text, limit)
    if found is None:
        return None
    idf, parameters = found
    return _keyword_sql(idf), parameters


def keyword_ranking(text: str, limit: int) -> list[str]:
    """Chunk ids matching `text` in PostgreSQL full-text search ('english'), best first (any ledger status: the
    caller keeps the complete documents' ones, as the search's hydration does)."""
    query = keyword_sql(text, limit)
    if query is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(*query)
        return [row[0] for row in cursor.fetchall()]


@functools.cache
def _visible_chunks_sql() -> str:
    """The hydration query, built once from the models' metadata (identifiers only; every value is a parameter)."""
    q = connection.ops.quote_name
    chunk, document = Chunk._meta, Document._meta
    column = lambda meta, name: q(meta.get_field(name).column)  # noqa: E731
    return (f"SELECT c.{column(chunk, 'chunk_id')}, d.{column(document, 'document_id')}, c.{column(chunk, 'text')}, "
            f"d.{column(document, 'source_path')}, d.{column(document, 'title')}, c.{column(chunk, 'ordinal')} "
            f"FROM {q(chunk.db_table)} c JOIN {q(document.db_table)} d "
            f"ON d.{q(document.pk.column)} = c.{column(chunk, 'document')} "
            f"WHERE c.{column(chunk, 'chunk_id')} = ANY(%s) AND d.{column(document, 'status')} = %s")


def visible_chunks(chunk_ids) -> dict[str, tuple[str, str, dict]]:
    """{chunk_id: (document_id, text, metadata)} for the given chunks whose document is complete in all three stores;
    metadata as ingestion writes it to Milvus (rag_data.chunk_metadata), built from the same rows.

    One indexed query on every search, so its SQL is built once rather than compiled by the ORM per call
    (the same rows as Chunk.objects.filter(chunk_id__in=..., document__status=COMPLETE)).
    """
    ids = list(chunk_ids)
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(_visible_chunks_sql(), [ids, Document.Status.COMPLETE.value])
        return {chunk_id: (document_id, text, chunk_metadata(source_path, title, ordinal, chunk_id))
                for chunk_id, document_id, text, source_path, title, ordinal in cursor.fetchall()}


def chunk_contexts(chunk_ids) -> dict[str, str]:
    """{chunk_id: its context (document title and section headings)} for the given chunks (the passage re-ranking,
    retrieval.rerank): one indexed SELECT by primary key."""
    ids = list(chunk_ids)
    if not ids:
        return {}
    return dict(Chunk.objects.filter(chunk_id__in=ids).values_list("chunk_id", "context"))


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

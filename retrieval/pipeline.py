"""Hybrid retrieval: vector search (Milvus), graph expansion (Neo4j), keyword search (PostgreSQL full text),
fused by weighted reciprocal rank fusion, logged as a Query.

Stages: the keyword stage runs in a worker thread while this thread embeds the query, searches Milvus and
then expands through the graph (which needs the vector hits). Every hit is then checked against
PostgreSQL, the source of truth: only chunks of documents whose ledger status is "complete" are returned,
with their text from PostgreSQL, so a partial write or an orphan in one store never surfaces.

A store that cannot be reached fails the whole search with StoreUnavailable naming it; results are never
silently computed from the stores that happen to be up.

Threads and connections (docs/concurrency.md): the search runs in a process-wide bounded pool of worker
threads (retrieval/workers.py: SEARCH_WORKERS, and as many again for the keyword stage, so that a search
never waits for a slot held by another search's keyword stage); each worker keeps its own PostgreSQL
connection between searches (CONN_MAX_AGE honoured, checked before each task without a round trip), so a
search opens no connection once the pool is warm. The caller waits at most SEARCH_TIMEOUT seconds: a
paused store (whose driver would wait forever on an open socket) gives a DeadlineExceeded naming the
store(s) of the stage(s) in flight, and no Query is logged. Work still running when its caller stopped
waiting is counted until it finishes; once SEARCH_MAX_ABANDONED tasks are stuck (or, for a search that
expands through the graph, that many Neo4j calls), new searches are refused at once with StoreUnavailable
naming the stuck store(s) (the API's 503) instead of queueing behind them. Every store call has a bound of
its own below SEARCH_TIMEOUT (MILVUS_TIMEOUT, graphstore.client.call_timeout(); checked in the settings).
"""

from __future__ import annotations

import time
import uuid
from concurrent.futures import Future, TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass, field

from django.conf import settings

from graphstore import selectors as graph
from rag_data import services
from retrieval import fusion, rerank
from textmodels.embedders import EmbedderError, get_embedder
from retrieval.selectors import chunk_contexts, document_count, keyword_ranking, query_concepts, visible_chunks
from retrieval.params import InvalidParameter, SearchParams, validate
from retrieval.workers import pool as _pool, shutdown_workers
from vectorstore import selectors as vectors
from vectorstore.client import STORE as MILVUS, CollectionNotFound, CollectionNotLoaded
from vectorstore.selectors import EmbedderMismatch
from core import metrics
from core.deadline import ABANDONED, Abandoned, DeadlineExceeded
from core.retry import StoreNotUsable, StoreUnavailable, describe_error, is_transient

__all__ = ["InvalidParameter", "SearchHit", "SearchResult", "StoreUnavailable", "search", "shutdown_workers"]

GRAPH_MAX_DOCUMENTS = 1000  # graphstore's largest limit
# Milvus reads: "Session" sees this process's own writes and is otherwise at most a few hundred ms behind;
# "Strong" would add a wait for the next time tick (~200-400 ms on standalone) to every Milvus call.
CONSISTENCY = "Session"


@dataclass(frozen=True)
class SearchHit:
    chunk_id: str
    document_id: str
    content: str
    metadata: dict
    score: float
    sources: dict[str, int] = field(default_factory=dict)  # source -> rank in that source (1 = best)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class SearchResult:
    query_id: uuid.UUID | None  # None when the search was not logged (record=False)
    hits: list[SearchHit]
    latency_ms: dict[str, float]  # per stage, plus "total"


class _Timer:
    """Milliseconds per stage; stages in different threads write different keys."""

    def __init__(self):
        self.ms: dict[str, float] = {}
        self.running: dict[str, str] = {}  # stage -> store, while it runs
        self.abandoned = False  # the caller stopped waiting: do not log the query

    def stores(self, exclude: str = "") -> str:
        """The store(s) of the stage(s) in flight, for an error message ("search" when none is)."""
        running = {store for stage, store in list(self.running.items()) if stage != exclude}
        return "/".join(sorted(running)) or "search"

    def run(self, stage: str, store: str, func, *args):
        started = time.perf_counter()
        self.running[stage] = store
        try:
            return _translated(store, func, *args)
        finally:
            self.running.pop(stage, None)
            self.ms[stage] = round((time.perf_counter() - started) * 1000, 3)


def _translated(store: str, func, *args):
    """Run func, turning "cannot reach / cannot use the store" into StoreUnavailable(store)."""
    try:
        return func(*args)
    except StoreUnavailable:
        raise
    except (CollectionNotFound, CollectionNotLoaded, EmbedderMismatch) as error:
        raise StoreNotUsable(MILVUS, str(error)) from None
    except EmbedderError as error:
        raise StoreNotUsable("Embedder", str(error)) from None
    except Exception as error:
        if is_transient(error):
            raise StoreUnavailable(store, describe_error(error)) from None
        raise


# Searches' tasks still running after their caller gave up, by the store they were waiting on.
STUCK = Abandoned()


def _refuse_if_stuck(params: SearchParams) -> None:
    """Fail at once, naming the store(s), while too much abandoned work is still waiting on a store."""
    limit = settings.SEARCH_MAX_ABANDONED
    stuck = STUCK.counts()
    if sum(stuck.values()) >= limit:
        stores = "/".join(sorted(stuck))
        raise StoreUnavailable(stores, f"{sum(stuck.values())} search tasks abandoned after SEARCH_TIMEOUT are still "
                                       f"waiting on it (SEARCH_MAX_ABANDONED={limit}); refusing new searches "
                                       "until they finish")
    if params.graph_enabled and ABANDONED.count(["Neo4j"]) >= limit:
        raise StoreUnavailable("Neo4j", f"{ABANDONED.count(['Neo4j'])} calls that gave up are still waiting on it "
                                        f"(SEARCH_MAX_ABANDONED={limit}); refusing graph searches until they finish")


def _abandon(future: Future | None, store: str) -> None:
    """The caller no longer waits for `future`: cancel it if it has not started, else count it until done."""
    if future is None or future.done() or future.cancel():
        return
    token = STUCK.add(store)
    future.add_done_callback(lambda _: STUCK.finish(token))


def search(text, *, k=None, filters=None, hops=None, weights=None, session=None, record: bool = True,
           api_key=None) -> SearchResult:
    """Run a hybrid search and log it as a Query (record=False: not logged, query_id None; for evaluation runs;
    `api_key`: the apikeys.ApiKey that asked, recorded on the Query);
    raises InvalidParameter (a ValueError: bad input) or StoreUnavailable (DeadlineExceeded when no answer came
    within SEARCH_TIMEOUT; at once when earlier searches are still stuck on a store)."""
    params = validate(text, k=k, filters=filters, hops=hops, weights=weights)
    _refuse_if_stuck(params)
    timer = _Timer()
    seconds = settings.SEARCH_TIMEOUT
    deadline = time.monotonic() + seconds
    keyword = main = None
    try:
        if params.weights["keyword"] > 0:
            keyword = _pool("keyword").submit(timer.run, "keyword", "PostgreSQL", _keyword_stage, params)
        main = _pool("search").submit(_search, params, timer, (session, api_key), record, keyword, deadline)
        result = main.result(timeout=max(0.0, deadline - time.monotonic()))
        metrics.observe_search(result.latency_ms)
        return result
    except FutureTimeout:
        timer.abandoned = True
        metrics.search_failed(timer.stores())
        raise DeadlineExceeded(timer.stores(), seconds, "search stage " + (", ".join(sorted(timer.running)) or "?")) \
            from None
    except StoreUnavailable as error:
        metrics.search_failed(error.store)
        raise
    finally:
        _abandon(keyword, "PostgreSQL")
        _abandon(main, timer.stores(exclude="keyword"))


def _search(params: SearchParams, timer: _Timer, asker: tuple, record: bool, keyword: Future | None,
            deadline: float) -> SearchResult:
    started = time.perf_counter()
    rankings: dict[str, list[str]] = {}
    metadata: dict[str, dict] = {}
    vector = None
    if params.weights["vector"] > 0 or params.graph_enabled:
        vector = timer.run("embed", "Embedder", _embed, params.text)
        vector_hits = timer.run("vector", MILVUS, vectors.search, vector, params.pool, params.filters,
                                CONSISTENCY)
        metadata.update({hit["chunk_id"]: hit["metadata"] for hit in vector_hits})
        if params.weights["vector"] > 0:
            rankings["vector"] = [hit["chunk_id"] for hit in vector_hits]
        if params.graph_enabled:
            graph_hits = timer.run("graph", "Neo4j", _graph_stage, params, vector, vector_hits)
            metadata.update({hit["chunk_id"]: hit["metadata"] for hit in graph_hits})
            rankings["graph"] = [hit["chunk_id"] for hit in graph_hits]
    if keyword is not None:
        try:
            rankings["keyword"], keyword_metadata = keyword.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            timer.abandoned = True
            raise DeadlineExceeded(timer.stores(), settings.SEARCH_TIMEOUT, "search stage keyword") from None
        metadata.update(keyword_metadata)

    chunks = timer.run("hydrate", "PostgreSQL", _visible_chunks, rankings)
    visible = {source: [c for c in ids if c in chunks] for source, ids in rankings.items()}
    fusion_started = time.perf_counter()
    fused = fusion.fused(visible, {chunk_id: row[0] for chunk_id, row in chunks.items()}, params.weights,
                         k0=settings.SEARCH_RRF_K, level=settings.SEARCH_FUSION,
                         per_document=settings.SEARCH_MAX_CHUNKS_PER_DOCUMENT, limit=params.k)
    timer.ms["fusion"] = round((time.perf_counter() - fusion_started) * 1000, 3)
    if settings.SEARCH_RERANK_DEPTH and len(visible) > 1 and len(fused) > 1:  # a fusion of legs, not one leg
        fused = timer.run("rerank", "PostgreSQL", _rerank_stage, params, fused, visible, chunks, vector)
    # A hit no Milvus call returned (found by the keyword leg only, without filters) gets the metadata ingestion wrote
    # to Milvus built from its ledger rows (visible_chunks): a Milvus query for it was ~12% of a search's CPU.
    hits = [
        SearchHit(chunk_id=hit.chunk_id, document_id=chunks[hit.chunk_id][0], content=chunks[hit.chunk_id][1],
                  metadata=dict(metadata[hit.chunk_id] if hit.chunk_id in metadata else chunks[hit.chunk_id][2]),
                  score=hit.score, sources=dict(hit.sources))
        for hit in fused
    ]
    latency = dict(timer.ms, total=round((time.perf_counter() - started) * 1000, 3))
    if timer.abandoned:  # the caller already got DeadlineExceeded
        raise DeadlineExceeded("search", settings.SEARCH_TIMEOUT)
    if not record:
        return SearchResult(query_id=None, hits=hits, latency_ms=latency)
    query = _translated("PostgreSQL", _record, params, hits, latency, *asker)
    return SearchResult(query_id=query.id, hits=hits, latency_ms=latency)


def _embed(text: str) -> list[float]:
    return get_embedder().embed([text])[0]


def _graph_stage(params: SearchParams, vector: list[float], vector_hits: list[dict]) -> list[dict]:
    """Chunks of the documents the graph connects to the query, documents in graph order, each one's chunks by
    similarity to the query: the documents mentioning the concepts the query names (idf-weighted, one bounded
    Cypher); when the query names no concept of the graph, those related (shared or RELATED_TO concepts, up to
    `hops` steps) to the top-k vector hits' documents instead.

    The related documents used to fill up the list whenever the concepts found fewer than the pool (a quarter of
    the dev questions): that Cypher reaches most of the corpus through its most-mentioned concepts (~120,000 db hits
    for 10 start documents at one hop on the Django+pytest docs), was ~3/4 of Neo4j's CPU per search, and changed
    no dev-set metric (docs/evaluation.md section 3c)."""
    limit = min(params.pool, GRAPH_MAX_DOCUMENTS)
    names = query_concepts(params.text)
    found = graph.documents_for_query_concepts(names, documents=document_count(), limit=limit) if names else []
    document_ids = list(dict.fromkeys(row["document_id"] for row in found))
    seeds = list(dict.fromkeys(hit["document_id"] for hit in vector_hits[: params.k] if hit["document_id"]))
    if seeds and not document_ids:
        related = graph.related_documents(seeds, hops=params.hops, limit=limit)
        document_ids = [row["document_id"] for row in related]
    wanted = params.filters.get("document_id")
    if wanted is not None:  # the user's own document filter still holds: intersect
        allowed = set(wanted) if isinstance(wanted, list) else {wanted}
        document_ids = [d for d in document_ids if d in allowed]
    if not document_ids:
        return []
    restricted = {**params.filters, "document_id": document_ids[:limit]}
    hits = _translated(MILVUS, vectors.search, vector, params.pool, restricted, CONSISTENCY)
    order = {document_id: position for position, document_id in enumerate(document_ids)}
    best = list({hit["document_id"]: hit for hit in reversed(hits)}.values())  # each document's most similar
    best.sort(key=lambda hit: order.get(hit["document_id"], len(order)))
    chosen = {hit["chunk_id"] for hit in best}
    return best + [hit for hit in hits if hit["chunk_id"] not in chosen]


def _keyword_stage(params: SearchParams) -> tuple[list[str], dict[str, dict]]:
    """Full-text ranking from PostgreSQL; with filters, narrowed by Milvus so filters mean the same everywhere."""
    if not params.filters:
        return keyword_ranking(params.text, params.pool), {}
    candidates = keyword_ranking(params.text, params.keyword_filtered_pool)
    if not candidates:
        return [], {}
    matching = _translated(MILVUS, vectors.matching_chunks, candidates, params.filters, CONSISTENCY)
    kept = [chunk_id for chunk_id in candidates if chunk_id in matching][: params.pool]
    return kept, {chunk_id: matching[chunk_id]["metadata"] for chunk_id in kept}


def _rerank_stage(params: SearchParams, fused: list, visible: dict[str, list[str]], chunks: dict, vector) -> list:
    """The passage re-ranking of the first SEARCH_RERANK_DEPTH fused documents (retrieval/rerank.py)."""
    document_of = {chunk_id: row[0] for chunk_id, row in chunks.items()}
    depth = settings.SEARCH_RERANK_DEPTH
    in_hand = rerank.in_hand(visible, document_of, list(dict.fromkeys(document_of[h.chunk_id] for h in fused))[:depth])
    wanted = [chunk_id for ids in in_hand.values() for chunk_id in ids]
    if vector is None:
        vector = _translated("Embedder", _embed, params.text)
    embed = lambda texts: _translated("Embedder", get_embedder().embed, texts)  # noqa: E731
    return rerank.rerank(fused, document_of, in_hand, {c: chunks[c][1] for c in wanted}, chunk_contexts(wanted),
                         vector, embed, depth=depth, window=settings.SEARCH_RERANK_WINDOW)


def _visible_chunks(rankings: dict[str, list[str]]) -> dict[str, tuple[str, str, dict]]:
    """{chunk_id: (document_id, text, metadata)} for the candidates whose document is complete in all three stores."""
    return visible_chunks({chunk_id for ranking in rankings.values() for chunk_id in ranking})


def _record(params: SearchParams, hits: list[SearchHit], latency: dict[str, float], session, api_key):
    stages = {stage: ms for stage, ms in latency.items() if stage != "total"}
    return services.record_query(
        text=params.text,
        latency_ms=latency["total"],
        stage_latency_ms=stages,
        parameters=params.as_logged(get_embedder().name),
        results=[
            {"chunk_id": h.chunk_id, "document_id": h.document_id, "score": h.score, "sources": h.sources}
            for h in hits
        ],
        session=session,
        api_key=api_key,
    )

"""Search latency of the project (retrieval.pipeline.search) beside the sum of the raw backend calls it makes,
and recall@10 of its vector stage against exact brute-force cosine search over the same vectors.

Per query and mode the project and the raw sequence run back to back (interleaved), so a noisy machine
slows both alike. The raw sequence issues the same calls one after the other with the drivers directly:
embed (the same embedder: the query needs its vector either way), Milvus search (same parameters and
consistency level), the graph expansion Cypher, the restricted Milvus search, the full-text and
hydration SQL (the SQL Django compiles for the project's querysets; the hydration also reads the columns a keyword-only
hit's metadata is built from, as the project's does), with SEARCH_RERANK_DEPTH above 0 the SELECT of the re-ranked
chunks' contexts, and the INSERT of the query log row. Its figure is the sum of
those calls' times.
"""

from __future__ import annotations

import json
import time
import uuid

import numpy as np

from bench import corpus, stack
from bench.stats import ratio, summary

MODES = {
    "vector": {"weights": {"vector": 1.0, "graph": 0.0, "keyword": 0.0}, "hops": 0},
    "vector+graph": {"weights": {"vector": 1.0, "graph": 0.5, "keyword": 0.0}, "hops": 1},
    "hybrid": {"weights": None, "hops": 1},  # the settings' weights: all three sources
}
from graphstore.selectors import (  # noqa: E402  (the same queries)
    QUERY_CONCEPT_DOCUMENTS_CYPHER as _CONCEPTS, QUERY_CONCEPT_MAX_SHARE as _CONCEPT_MAX_SHARE,
    RELATED_DOCUMENTS_CYPHER as _RELATED,
)


class RawSearch:
    """The project's search, call for call, with the bare drivers; times each call."""

    def __init__(self):
        from django.conf import settings

        self.settings = settings
        self.milvus = stack.raw_milvus()
        self.neo4j = stack.raw_neo4j()
        self.pg = stack.raw_postgres()
        self.pg.autocommit = True
        from retrieval import pipeline

        # The read consistency the project's search uses (Strong waits for a time tick on standalone).
        self.consistency = getattr(pipeline, "CONSISTENCY", "Strong")

    def close(self):
        self.milvus.close(), self.neo4j.close(), self.pg.close()

    def _milvus_search(self, vector, limit, expression=""):
        from vectorstore import schema

        return self.milvus.search(self.settings.MILVUS_COLLECTION, data=[vector], limit=limit, filter=expression,
                                  output_fields=schema.OUTPUT_FIELDS, search_params=schema.search_params(limit),
                                  consistency_level=self.consistency)[0]

    def _sql(self, compiled) -> list:
        with self.pg.cursor() as cursor:
            cursor.execute(*compiled)
            return cursor.fetchall()

    @staticmethod
    def _compiled(queryset) -> tuple[str, tuple]:
        """The SQL and parameters of a queryset, compiled outside the timed part (a hand-written query)."""
        return queryset.query.sql_with_params()

    def run(self, text: str, mode: dict) -> dict[str, float]:
        """{call: ms} for one query; the sum is the raw figure."""
        from retrieval import fusion
        from textmodels.embedders import get_embedder
        from rag_data.models import Chunk, Document
        from retrieval.params import validate
        from retrieval.pipeline import GRAPH_MAX_DOCUMENTS
        from retrieval.selectors import document_count, keyword_sql, query_concepts
        from vectorstore.filters import build_filter

        params = validate(text, weights=mode["weights"], hops=mode["hops"])
        ms: dict[str, float] = {}

        def timed(name, func, *args, **kwargs):
            started = time.perf_counter()
            result = func(*args, **kwargs)
            ms[name] = ms.get(name, 0.0) + (time.perf_counter() - started) * 1000
            return result

        rankings = {}
        vector = timed("embed", get_embedder().embed, [params.text])[0]
        hits = timed("milvus_search", self._milvus_search, vector, params.pool)
        ids = [h.get("entity", {}).get("chunk_id") or h.get("id") for h in hits]
        rankings["vector"] = ids
        if params.graph_enabled:
            # The project's graph stage (retrieval.pipeline._graph_stage): documents for the concepts the query
            # names (one bounded Cypher), or those related to the top hits' documents when it names none, then
            # one Milvus search restricted to them, each document's most similar chunk first.
            limit = min(params.pool, GRAPH_MAX_DOCUMENTS)
            names = query_concepts(params.text)  # the project's phrase extraction: pure Python, not a store call
            related: list[str] = []
            if names:
                documents = max(document_count(), 1)
                records, _, _ = timed("neo4j_concepts", self.neo4j.execute_query, _CONCEPTS, names=names,
                                      documents=float(documents), limit=limit, per_concept=50,
                                      max_df=max(50.0, _CONCEPT_MAX_SHARE * documents),
                                      namespace=self.settings.RAG_NAMESPACE, database_=self.settings.NEO4J_DATABASE,
                                      routing_="r")
                related = list(dict.fromkeys(r["document_id"] for r in records))
            seeds = list(dict.fromkeys(h["entity"]["document_id"] for h in hits[: params.k]))
            if seeds and not related:
                records, _, _ = timed("neo4j_related", self.neo4j.execute_query, _RELATED.format(hops=params.hops),
                                      ids=seeds, limit=limit, namespace=self.settings.RAG_NAMESPACE,
                                      database_=self.settings.NEO4J_DATABASE, routing_="r")
                related = [r["document_id"] for r in records]
            graph_hits = timed("milvus_search_restricted", self._milvus_search, vector, params.pool,
                               build_filter({"document_id": related[:limit]})) if related else []
            order = {document_id: n for n, document_id in enumerate(related)}
            best = sorted({h["entity"]["document_id"]: h for h in reversed(graph_hits)}.values(),
                          key=lambda h: order.get(h["entity"]["document_id"], len(order)))
            ranked = best + [h for h in graph_hits if all(h is not b for b in best)]
            rankings["graph"] = [h.get("entity", {}).get("chunk_id") or h.get("id") for h in ranked]
        if params.weights["keyword"] > 0:
            # The project's own keyword SQL (stored search_vector column: candidates from the GIN index, ranked),
            # one statement; the project's lexeme lookup and statistics that choose the words are not counted here.
            keyword = keyword_sql(params.text, params.pool)
            rows = [] if keyword is None else timed("pg_keyword", self._sql, keyword)
            rankings["keyword"] = [row[0] for row in rows]
        wanted = {i for ranking in rankings.values() for i in ranking}
        hydrate = Chunk.objects.filter(chunk_id__in=wanted, document__status=Document.Status.COMPLETE) \
            .values_list("chunk_id", "document__document_id", "text", "document__source_path", "document__title", "ordinal")
        rows = timed("pg_hydrate", self._sql, self._compiled(hydrate))
        visible = {row[0] for row in rows}
        fused = fusion.fuse({s: [i for i in r if i in visible] for s, r in rankings.items()}, params.weights,
                            limit=params.k)
        if self.settings.SEARCH_RERANK_DEPTH and len(rankings) > 1:
            # The passage re-ranking's one store call (retrieval.selectors.chunk_contexts): the contexts of the first
            # documents' chunks in hand. Its embedding of the windows is the project's own work: no raw equivalent.
            from retrieval.rerank import in_hand

            document_of = {row[0]: row[1] for row in rows}
            head = list(dict.fromkeys(document_of[h.chunk_id] for h in fused))[: self.settings.SEARCH_RERANK_DEPTH]
            chunks = in_hand({s: [i for i in r if i in visible] for s, r in rankings.items()}, document_of, head)
            contexts = Chunk.objects.filter(chunk_id__in=[c for ids in chunks.values() for c in ids]) \
                .values_list("chunk_id", "context")
            timed("pg_contexts", self._sql, self._compiled(contexts))
        log = [{"chunk_id": h.chunk_id, "score": h.score, "sources": h.sources} for h in fused]
        with self.pg.cursor() as cursor:
            timed("pg_log", cursor.execute,
                  "INSERT INTO rag_data_query (id, text, parameters, results, latency_ms, stage_latency_ms, "
                  "created_at) VALUES (%s, %s, %s, %s, %s, %s, now())",
                  (uuid.uuid4(), params.text, json.dumps(params.as_logged("raw")), json.dumps(log), 1.0,
                   json.dumps(ms)))
        return ms


def run(queries: int, prepared, *, repeats: int = 3, warmup: int = 20, log=print) -> dict:
    """Latency per mode (project vs raw sum) and recall@10, over the data the ingest benchmark left.

    `warmup` queries of each mode first (not counted: connections, caches, the pools' threads), then `repeats`
    rounds of `queries` queries; in each, every query runs in every mode, project and raw back to back,
    alternating which goes first. The figures pool all rounds; `spread` gives each round's p95 ratio.
    """
    from retrieval.pipeline import search

    texts = corpus.queries(queries + warmup)
    raw = RawSearch()
    rounds = []
    try:
        for number, text in enumerate(texts[:warmup]):
            for mode in MODES.values():
                raw.run(text, mode)
                search(text, weights=mode["weights"], hops=mode["hops"])
        for repeat in range(repeats):
            samples = {m: {"project": [], "raw": [], "calls": {}, "stages": {}} for m in MODES}
            for number, text in enumerate(texts[warmup:]):
                for name, mode in MODES.items():
                    # Alternate which side goes first: a call right after another's wait may be faster.
                    project_first = (number + repeat) % 2 == 0
                    if not project_first:
                        calls = raw.run(text, mode)
                    started = time.perf_counter()
                    result = search(text, weights=mode["weights"], hops=mode["hops"])
                    project_ms = (time.perf_counter() - started) * 1000
                    if project_first:
                        calls = raw.run(text, mode)
                    sample = samples[name]
                    sample["project"].append(project_ms)
                    sample["raw"].append(sum(calls.values()))
                    for call, value in calls.items():
                        sample["calls"].setdefault(call, []).append(value)
                    for stage, value in result.latency_ms.items():
                        sample["stages"].setdefault(stage, []).append(value)
                if number and number % 100 == 0:
                    log(f"search: round {repeat + 1}/{repeats}, {number}/{queries} queries")
            rounds.append(samples)
            log("search: round {}/{}: p95 ratios {}".format(repeat + 1, repeats, ", ".join(
                f"{m} {ratio(summary(r['project'])['p95'], summary(r['raw'])['p95'])}" for m, r in samples.items())))
    finally:
        raw.close()
    return {"queries": queries, "repeats": repeats, "warmup": warmup, "modes": combine(rounds),
            "recall": recall_at_10(texts[warmup:], prepared)}


def combine(rounds: list[dict]) -> dict:
    """Per mode: the pooled summaries, ratios, per-call and per-stage p50/p95, and each round's p95 ratio."""
    modes = {}
    for name in rounds[0]:
        pooled = {key: [v for r in rounds for v in r[name][key]] for key in ("project", "raw")}
        calls = {c: [v for r in rounds for v in r[name]["calls"].get(c, [])] for c in rounds[0][name]["calls"]}
        stages = {s: [v for r in rounds for v in r[name]["stages"].get(s, [])] for s in rounds[0][name]["stages"]}
        p, r = summary(pooled["project"]), summary(pooled["raw"])
        per_round = [ratio(summary(x[name]["project"]).get("p95"), summary(x[name]["raw"]).get("p95"))
                     for x in rounds]
        modes[name] = {
            "project_ms": p, "raw_sum_ms": r,
            "p95_ratio": ratio(p.get("p95"), r.get("p95")), "p50_ratio": ratio(p.get("p50"), r.get("p50")),
            "p95_ratio_per_round": per_round,
            "raw_calls_ms": {c: {k: summary(v)[k] for k in ("p50", "p95")} for c, v in calls.items()},
            "project_stages_ms": {s: {k: summary(v)[k] for k in ("p50", "p95")} for s, v in stages.items()},
        }
    return modes


def recall_at_10(texts: list[str], prepared, k: int = 10) -> dict:
    """Mean overlap of the project's vector stage top-k with exact top-k cosine (numpy) over the same vectors."""
    import inspect

    from retrieval import pipeline
    from textmodels.embedders import get_embedder
    from vectorstore import selectors

    options = {}
    if "consistency_level" in inspect.signature(selectors.search).parameters:
        options["consistency_level"] = getattr(pipeline, "CONSISTENCY", "Strong")
    selectors.search(get_embedder().embed(["warm"])[0], k)  # one Strong read: everything written is visible
    matrix = prepared.vectors / np.maximum(np.linalg.norm(prepared.vectors, axis=1, keepdims=True), 1e-12)
    position = {chunk_id: i for i, chunk_id in enumerate(prepared.chunk_ids)}
    recalls = []
    for text in texts:
        query = np.asarray(get_embedder().embed([text])[0], dtype=np.float32)
        query /= max(float(np.linalg.norm(query)), 1e-12)
        scores = matrix @ query
        # Tie-aware: a hit counts when its exact score reaches the k-th best (the synthetic corpus has
        # many chunks with equal scores, and any of them is a correct k-th answer).
        kth = float(np.partition(-scores, k - 1)[k - 1]) * -1
        found = [hit["chunk_id"] for hit in selectors.search(query.tolist(), k, **options)]
        correct = sum(1 for chunk_id in found if chunk_id in position and scores[position[chunk_id]] >= kth - 1e-6)
        recalls.append(correct / k)
    return {"k": k, "queries": len(texts), "mean": round(float(np.mean(recalls)), 4),
            "min": round(float(np.min(recalls)), 4)}

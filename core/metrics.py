"""The Prometheus metrics the apps record (prometheus-client); served at /metrics by the observability app.

Defined here, in the lowest layer, so that retrieval, ingestion and the request middleware record into the
same objects without importing each other. Gauges that describe the stores (health, drift) are not kept here:
observability.collectors computes them when /metrics is scraped.

Several processes (gunicorn workers): prometheus-client's multiprocess mode. PROMETHEUS_MULTIPROC_DIR must be
set before this module is first imported (infrastructure/gunicorn.conf.py sets and empties it in the master,
before the workers fork); each process then writes its samples to files there and /metrics adds them up, so
a scrape answered by any worker shows the whole server. docs/operations.md, "Metrics".
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds; from a cache hit (1 ms) to a search waiting out SEARCH_TIMEOUT (30 s).
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
                   10.0, 30.0)

HTTP_REQUEST_SECONDS = Histogram(
    "rag_http_request_duration_seconds", "Time to answer an HTTP request, by method, URL route and status code.",
    ["method", "route", "status"], buckets=LATENCY_BUCKETS,
)
SEARCH_STAGE_SECONDS = Histogram(
    "rag_search_stage_duration_seconds",
    "Time spent in each stage of a search (embed, vector, graph, keyword, hydrate, fusion) and in "
    "the whole search (total).",
    ["stage"], buckets=LATENCY_BUCKETS,
)
SEARCH_FAILURES = Counter(
    "rag_search_failures", "Searches that failed because a store was unavailable or too slow, by store.", ["store"],
)
INGEST_DOCUMENTS = Counter(
    "rag_ingest_documents", "Files handled by ingestion, by outcome (created, updated, unchanged, skipped, failed).",
    ["outcome"],
)
INGEST_CHUNKS = Counter(
    "rag_ingest_chunks", "Chunks handled by ingestion: written to the three stores, or found unchanged.",
    ["outcome"],
)


def observe_search(latency_ms: dict[str, float]) -> None:
    """Record one search's stage timings (milliseconds, as SearchResult.latency_ms holds them)."""
    for stage, milliseconds in latency_ms.items():
        SEARCH_STAGE_SECONDS.labels(stage).observe(milliseconds / 1000.0)


def search_failed(store: str) -> None:
    SEARCH_FAILURES.labels(store or "unknown").inc()


def ingested(outcome: str, documents: int = 1, chunks: int = 0) -> None:
    """One file's outcome; `chunks` of it written or unchanged (outcome created/updated -> "written")."""
    if documents:
        INGEST_DOCUMENTS.labels(outcome).inc(documents)
    if chunks:
        INGEST_CHUNKS.labels("unchanged" if outcome == "unchanged" else "written").inc(chunks)

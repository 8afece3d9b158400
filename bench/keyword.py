"""`python -m bench.keyword [--size 100000] [--queries 300] [--repeats 3] [--pool 20]`: the keyword leg's SQL alone,
server-side, on the benchmark's synthetic corpus in PostgreSQL only (no Milvus, no Neo4j, no embedding).

The corpus's documents and chunks are written with COPY into a database of their own (`rag_bench_keyword`, kept
between runs and reloaded only when it does not hold exactly the corpus), then `VACUUM ANALYZE`d (the keyword leg
reads PostgreSQL's statistics). Per query of `bench.corpus.queries`, the project's own SQL
(`retrieval.selectors.keyword_sql`): one `EXPLAIN (ANALYZE, BUFFERS)` for the rows read from the heap and the
buffers touched, then `--repeats` plain runs of `keyword_ranking` keeping the least CPU time of the PostgreSQL
backend (`/proc/<pid>/schedstat`, when the server runs on this machine) and of the calling thread. CPU time and rows
do not grow with the machine's load the way wall time does: they compare runs on a shared machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

DATABASE = "rag_bench_keyword"
CORPORA = Path(__file__).resolve().parent / "results" / "corpora"


def plan_figures(plan: dict) -> dict:
    """{ms, heap_rows, buffers} of one EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) document: planning + execution time,
    rows returned by every Bitmap Heap Scan (the chunks read), shared buffers hit or read."""
    def nodes(node):
        yield node
        for child in node.get("Plans", []):
            yield from nodes(child)

    top = plan["Plan"]
    return {"ms": plan.get("Planning Time", 0.0) + plan["Execution Time"],
            "heap_rows": sum(n["Actual Rows"] for n in nodes(top) if n["Node Type"] == "Bitmap Heap Scan"),
            "buffers": top.get("Shared Hit Blocks", 0) + top.get("Shared Read Blocks", 0)}


def load(size: int, log) -> None:
    """The corpus's documents and chunks in the bench database (COPY, as bench/raw.py), unless already there."""
    from django.conf import settings
    from django.db import connection

    from bench import corpus, stack
    from ingestion.services import chunk_id_for, discover
    from ingestion.sources import chunks_for, context_for, read_source

    directory = CORPORA / f"corpus-{size}"
    manifest = corpus.generate(directory, size, size=settings.CHUNK_SIZE, overlap=settings.CHUNK_OVERLAP)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM rag_data_chunk")
        if cursor.fetchone()[0] == manifest["chunks"]:
            return
    log(f"loading {size} chunks into {DATABASE}")
    stack.clean_postgres()
    sources, _ = discover([directory], stack.ID_PREFIX)
    conn = stack.raw_postgres()
    try:
        for start in range(0, len(sources), 200):
            documents = []
            for source in sources[start:start + 200]:
                extracted, content_hash = read_source(source.path, settings.INGEST_MAX_FILE_BYTES)
                pieces = chunks_for(extracted, settings.CHUNK_SIZE, settings.CHUNK_OVERLAP)
                rows = [(chunk_id_for(source.document_id, n, p.text, p.page), n, p.text,
                         hashlib.sha256(p.text.encode()).hexdigest(), context_for(extracted.title, p.headings))
                        for n, p in enumerate(pieces)]
                documents.append((source, extracted.title, content_hash, rows))
            with conn.cursor() as cursor:
                with cursor.copy("COPY rag_data_document (document_id, source_path, title, content_hash, in_postgres, "
                                 "in_milvus, in_neo4j, status, last_error, created_at, updated_at, metadata) "
                                 "FROM STDIN") as copy:
                    for source, title, content_hash, _ in documents:
                        copy.write_row((source.document_id, source.relative, title, content_hash, True, True, True,
                                        "complete", "", "now", "now", "{}"))
                cursor.execute("SELECT document_id, id FROM rag_data_document WHERE document_id = ANY(%s)",
                               ([source.document_id for source, *_ in documents],))
                keys = dict(cursor.fetchall())
                with cursor.copy("COPY rag_data_chunk (chunk_id, document_id, ordinal, text, content_hash, context) "
                                 "FROM STDIN") as copy:
                    for source, _, _, rows in documents:
                        for chunk_id, *rest in rows:
                            copy.write_row((chunk_id, keys[source.document_id], *rest))
            conn.commit()
        conn.autocommit = True
        conn.execute("VACUUM ANALYZE rag_data_chunk")
        conn.execute("VACUUM ANALYZE rag_data_document")
    finally:
        conn.close()


def measure(texts: list[str], pool: int, repeats: int) -> dict:
    from django.db import connection

    from bench.stats import summary
    from retrieval import selectors

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        schedstat = Path(f"/proc/{cursor.fetchone()[0]}/schedstat")
    local = schedstat.exists()

    def backend_ns() -> int:
        return int(schedstat.read_text().split()[0]) if local else 0

    plans, server_cpu, client_cpu = [], [], []
    for text in texts:
        query = selectors.keyword_sql(text, pool)
        if query is None:
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + query[0], query[1])
            document = cursor.fetchone()[0]
        plans.append(plan_figures(document[0] if isinstance(document, list) else json.loads(document)[0]))
        best = None
        for _ in range(repeats):
            server, client = backend_ns(), time.thread_time_ns()
            selectors.keyword_ranking(text, pool)
            spent = (backend_ns() - server, time.thread_time_ns() - client)
            best = spent if best is None or spent < best else best
        server_cpu.append(best[0] / 1e6)
        client_cpu.append(best[1] / 1e6)
    return {"queries": len(plans), "explain_ms": summary([p["ms"] for p in plans]),
            "heap_rows": summary([p["heap_rows"] for p in plans]), "buffers": summary([p["buffers"] for p in plans]),
            "postgres_cpu_ms": summary(server_cpu) if local else None, "client_cpu_ms": summary(client_cpu)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.keyword", description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="chunks in the corpus (default 100000)")
    parser.add_argument("--queries", type=int, default=300, help="queries (the search benchmark's, after its warm-up)")
    parser.add_argument("--repeats", type=int, default=3, help="plain runs per query; the least CPU is kept")
    parser.add_argument("--pool", type=int, default=20, help="ids ranked per query (the search's pool: max(2k, 20))")
    args = parser.parse_args(argv)

    from bench import stack

    stack.configure(DATABASE)
    from django.conf import settings

    from bench import corpus

    def log(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)

    load(args.size, log)
    result = measure(corpus.queries(args.queries + 20)[20:], args.pool, args.repeats)
    result["settings"] = {name: getattr(settings, name) for name in ("SEARCH_KEYWORD_CANDIDATES",
                                                                     "SEARCH_KEYWORD_RANKED")}
    for name in ("explain_ms", "heap_rows", "buffers", "postgres_cpu_ms", "client_cpu_ms"):
        figures = result[name]
        shown = "n/a (the server is not on this machine)" if figures is None else \
            f"p50 {figures['p50']}  p95 {figures['p95']}  max {figures['max']}"
        print(f"{name:16s} {shown}")
    print(json.dumps({"size": args.size, **result}))
    return 0


if __name__ == "__main__":
    sys.exit(main())

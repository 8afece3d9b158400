"""`python -m bench [--sizes 20000,100000] [--quick] [--only ingest,search,health,init] [--out FILE]`.

Runs on the local stack (`make bench` starts it) against a database, Milvus collections and Neo4j
documents of its own (bench/stack.py), prints a table and writes the JSON results.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BENCHMARKS = ("ingest", "search", "health", "init")
QUICK_SIZE = 2000


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20000,100000", help="chunk counts to ingest (search runs at the largest)")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_SIZE} chunks, fewer queries and requests, no paused stores")
    parser.add_argument("--only", default=",".join(BENCHMARKS), help="comma-separated subset of " + ",".join(BENCHMARKS))
    parser.add_argument("--out", type=Path, help="JSON results file (default bench/results/<timestamp>.json)")
    parser.add_argument("--queries", type=int, help="search queries per mode and round (default 300, quick 40)")
    parser.add_argument("--repeats", type=int, default=3, help="search rounds over the queries (default 3); "
                                                               "the figures pool them, the spread is per round")
    parser.add_argument("--warmup", type=int, default=20, help="search queries per mode run first, not counted")
    parser.add_argument("--health-requests", type=int, help="health requests with all up (default 300, quick 50)")
    parser.add_argument("--no-pause", action="store_true", help="skip health with a paused store (SIGSTOP)")
    parser.add_argument("--raw-milvus-batch", type=int, help="rows per raw Milvus insert (default: as many as fit the project's message size)")
    parser.add_argument("--raw-docs-per-tx", type=int, default=100, help="documents per raw Neo4j/PG transaction")
    parser.add_argument("--keep", action="store_true", help="leave the benchmark's data in the stores at the end")
    parser.add_argument("--reuse", action="store_true",
                        help="search: reuse the corpus a --keep run left in the stores (completing it by an idempotent "
                             "re-ingest when needed) instead of ingesting it into empty stores; with --keep, a 100k "
                             "load is done once")
    args = parser.parse_args(argv)
    args.only = [name.strip() for name in args.only.split(",") if name.strip()]
    unknown = set(args.only) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    try:
        args.sizes = sorted({int(size) for size in args.sizes.split(",")})
    except ValueError:
        parser.error("--sizes takes whole numbers separated by commas")
    if args.quick:
        args.sizes, args.no_pause = [QUICK_SIZE], True
    args.queries = args.queries or (40 if args.quick else 300)
    args.health_requests = args.health_requests or (50 if args.quick else 300)
    return args


def main(argv=None) -> int:
    args = parse(argv)
    started = datetime.datetime.now(datetime.timezone.utc)
    out = args.out or RESULTS / f"{started:%Y%m%dT%H%M%SZ}{'-quick' if args.quick else ''}.json"

    from bench import stack

    stack.configure()
    from django.conf import settings

    from bench import ingest, raw, report

    def log(message: str) -> None:
        print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", flush=True)

    results: dict = {}
    largest = max(args.sizes)
    workdir = RESULTS / "corpora"
    try:
        if "ingest" in args.only:
            results["ingest"] = ingest.run(args.sizes, workdir, raw_milvus_batch=args.raw_milvus_batch,
                                           raw_docs_per_tx=args.raw_docs_per_tx, log=log)
        elif "search" in args.only:  # search needs the largest corpus ingested: do it without timing the raw side
            from bench import corpus

            manifest = corpus.generate(workdir / f"corpus-{largest}", largest, size=settings.CHUNK_SIZE,
                                       overlap=settings.CHUNK_OVERLAP)
            if args.reuse and stack.loaded(manifest):
                log(f"search: reusing the {largest} chunks already in the stores (--reuse)")
            elif args.reuse:  # re-ingest is idempotent: unchanged files are skipped, missing ones written
                log(f"search: completing the {largest} chunks in the stores (--reuse, not timed)")
                ingest.child(workdir / f"corpus-{largest}")
                if not stack.loaded(manifest):
                    raise SystemExit("--reuse: the stores do not hold exactly the corpus; run without --reuse")
            else:
                log(f"search needs {largest} chunks ingested: ingesting (not timed)")
                stack.clean_all()
                ingest.child(workdir / f"corpus-{largest}")
        if "search" in args.only:
            log(f"search at {largest} chunks")
            prepared = raw.prepare(workdir / f"corpus-{largest}", settings.CHUNK_SIZE, settings.CHUNK_OVERLAP)
            results["search"] = search_run(args, prepared, log)
        if "health" in args.only:
            log("health")
            from bench import health

            results["health"] = health.run(args.health_requests, pause=not args.no_pause, log=log)
        if "init" in args.only:
            log("init_stores")
            from bench import init

            results["init"] = init.run(repeats=3 if args.quick else 5)
    finally:
        if not args.keep:
            log("cleaning up the benchmark's data")
            stack.clean_all()
    finished = datetime.datetime.now(datetime.timezone.utc)
    doc = report.document(
        args={k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        machine_facts=report.machine(), versions_found=report.versions(),
        settings={"MILVUS_URI": settings.MILVUS_URI, "MILVUS_INDEX_TYPE": settings.MILVUS_INDEX_TYPE,
                  "MILVUS_METRIC_TYPE": settings.MILVUS_METRIC_TYPE, "EMBEDDER": settings.EMBEDDER,
                  "EMBEDDING_DIM": settings.EMBEDDING_DIM, "CHUNK_SIZE": settings.CHUNK_SIZE,
                  "CHUNK_OVERLAP": settings.CHUNK_OVERLAP, "HEALTH_CHECK_TIMEOUT": settings.HEALTH_CHECK_TIMEOUT,
                  "SEARCH_WEIGHTS": settings.SEARCH_WEIGHTS, "SEARCH_GRAPH_HOPS": settings.SEARCH_GRAPH_HOPS},
        results=results, started=started, finished=finished)
    print()
    print(report.table(doc))
    print(f"\nresults: {report.write(doc, out)}")
    return 0


def search_run(args, prepared, log):
    from bench import search

    return search.run(args.queries, prepared, repeats=args.repeats, warmup=args.warmup, log=log)


if __name__ == "__main__":
    sys.exit(main())

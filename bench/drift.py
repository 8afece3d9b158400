"""`python -m bench.drift [--repeats N]`: what one drift check costs on the stores the settings point at.

Times each read the check makes (reconcile's comparison: PostgreSQL ids, the Milvus id scan, Neo4j
document ids and graph facts) and the whole measurement (drift.measure.measure), N times, and prints
the median and the spread. Read-only: no report is recorded, nothing is written. Load a corpus first,
e.g. `python -c "from bench.corpus import generate; ..."` then `manage.py ingest` (docs/drift.md, Cost).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.drift", description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from drift.measure import measure
    from graphstore import selectors as graph
    from ingestion.reconcile import MILVUS_PAGE
    from rag_data.models import Chunk, Document
    from vectorstore import selectors as vectors
    from vectorstore import services as vector_services

    vector_services.load_collection()
    steps = {
        "postgres documents": lambda: list(Document.objects.all()),
        "postgres chunk ids": lambda: list(Chunk.objects.values_list("document__document_id", "chunk_id")
                                           .iterator(chunk_size=5000)),
        "milvus id scan": lambda: vectors.all_chunk_documents(MILVUS_PAGE),
        "neo4j document ids": graph.document_ids,
        "neo4j graph facts": lambda: (graph.unsupported_edges(), graph.unmentioned_concepts(),
                                      graph.outdated_document_ids()),
        "whole measurement": measure,
    }
    timings: dict[str, list[float]] = {name: [] for name in steps}
    for _ in range(args.repeats):
        for name, step in steps.items():
            started = time.perf_counter()
            step()
            timings[name].append(time.perf_counter() - started)
    found = measure()
    print(f"{found.documents} documents, {found.milvus_rows} Milvus rows, drift {sum(found.counts.values())}, "
          f"{args.repeats} repeats")
    for name, values in timings.items():
        print(f"{name:<20} median {statistics.median(values):6.2f} s   min {min(values):6.2f}   max {max(values):6.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

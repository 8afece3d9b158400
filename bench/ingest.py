"""Ingest throughput: the project (`ingest_paths`, in a child process, for its peak RSS) beside the raw clients.

The child is `python -m bench.ingest CORPUS_DIR`: it runs ingestion exactly as `manage.py ingest` does
and prints one JSON line: wall time, outcome counts, the time spent per step (measured by wrapping the
module functions ingestion calls, which adds a few microseconds per document), and its peak RSS.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from bench import corpus, raw, stack
from bench.stats import ratio

STEPS = {  # ingestion calls these through the module attribute, so wrapping them times each step
    "ingestion.store_sync": ("embed", "concepts", "write_milvus", "write_neo4j"),
    "rag_data.ledger": ("begin", "mark_in_milvus", "mark_in_neo4j", "mark_complete"),
    "vectorstore.services": ("delete_document_chunks", "upsert_chunks"),
    "graphstore.services": ("write_document",),
}


def run(sizes: list[int], workdir: Path, *, raw_milvus_batch: int | None = None, raw_docs_per_tx: int = 100,
        log=print) -> dict:
    from django.conf import settings

    from ingestion.store_sync import MILVUS_BATCH

    size, overlap = settings.CHUNK_SIZE, settings.CHUNK_OVERLAP
    batch = raw_milvus_batch or MILVUS_BATCH
    results = []
    for chunks in sizes:
        directory = workdir / f"corpus-{chunks}"
        log(f"ingest {chunks}: corpus")
        manifest = corpus.generate(directory, chunks, size=size, overlap=overlap)
        log(f"ingest {chunks}: preparing rows, vectors and concepts for the raw baselines (cached)")
        prepared = raw.prepare(directory, size, overlap)
        assert prepared.chunks == chunks, f"corpus has {prepared.chunks} chunks, wanted {chunks}"
        stack.clean_all()
        baselines = []
        for name, func, arg in (("Milvus", raw.milvus_insert, batch), ("Neo4j", raw.neo4j_unwind, raw_docs_per_tx),
                                ("PostgreSQL", raw.postgres_copy, raw_docs_per_tx)):
            log(f"ingest {chunks}: raw {name}")
            baselines.append(func(prepared, arg))
        stack.drop_collection(stack.RAW_COLLECTION)
        del prepared
        log(f"ingest {chunks}: project (child process)")
        first = child(directory)
        log(f"ingest {chunks}: project again, unchanged files")
        again = child(directory)
        slowest = min(baselines, key=lambda b: b["chunks_per_s"])
        project_rate = chunks / first["seconds"]
        write_seconds = first["seconds"] - first["steps_s"].get("embed", 0) - first["steps_s"].get("concepts", 0)
        results.append({
            "chunks": chunks, "corpus": manifest, "raw": baselines,
            "project": {**first, "chunks_per_s": round(project_rate, 1),
                        "write_path_chunks_per_s": round(chunks / write_seconds, 1) if write_seconds > 0 else None},
            "reingest_unchanged": {**again, "chunks_per_s": round(chunks / again["seconds"], 1)},
            "slowest_raw": slowest["store"],
            "ratio_vs_slowest_raw": ratio(project_rate, slowest["chunks_per_s"]),
            "write_path_ratio_vs_slowest_raw": ratio(chunks / write_seconds if write_seconds > 0 else None,
                                                     slowest["chunks_per_s"]),
            "peak_rss_mb": first["peak_rss_mb"],
        })
    return {"chunk_size": size, "chunk_overlap": overlap, "raw_milvus_batch": batch,
            "raw_docs_per_tx": raw_docs_per_tx, "sizes": results}


def child(directory: Path) -> dict:
    """Run the project's ingestion in a fresh interpreter; its JSON line, plus the RSS the kernel reports."""
    process = subprocess.Popen([sys.executable, "-m", "bench.ingest", str(directory)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ingest child failed ({process.returncode}): {stderr.strip()[-2000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def _instrument(steps: dict[str, float]) -> None:
    import importlib

    for module_name, names in STEPS.items():
        module = importlib.import_module(module_name)
        for name in names:
            original = getattr(module, name)

            def wrapper(*args, __original=original, __name=name, **kwargs):
                started = time.perf_counter()
                try:
                    return __original(*args, **kwargs)
                finally:
                    steps[__name] = steps.get(__name, 0.0) + time.perf_counter() - started

            setattr(module, name, wrapper)


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _child_main(directory: str) -> None:
    import django

    django.setup()
    from ingestion.services import ingest_paths

    steps: dict[str, float] = {}
    _instrument(steps)
    started = time.perf_counter()
    report = ingest_paths([directory], id_prefix=stack.ID_PREFIX)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": round(seconds, 3), "counts": report.counts(),
                      "failures": [failure["reason"][:300] for failure in report.failed[:3]],
                      "steps_s": {name: round(value, 3) for name, value in steps.items()},
                      "peak_rss_mb": _peak_rss_mb()}))


if __name__ == "__main__":
    _child_main(sys.argv[1])

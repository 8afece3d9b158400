"""Ingest throughput: the project (`ingest_paths`, in a child process, for its peak RSS) beside the raw clients.

The child is `python -m bench.ingest CORPUS_DIR [--precomputed | --embed-only]`: it runs ingestion exactly as
`manage.py ingest` does and prints one JSON line: wall time, outcome counts, the time spent per step
(measured by wrapping the module functions ingestion calls, which adds a few microseconds per group; the
embed and extract steps run in the worker thread, overlapped with the writes, so the steps add up to more
than the wall time), and its peak RSS. With --precomputed the embedder and extractor are replaced by the
vectors and concepts raw.prepare cached (the same values), so the run measures the write path alone, which
is what the raw baselines do; with --embed-only it times the embedder alone over the same chunks, in the
same groups, and writes nothing.

Per size: the raw baselines, the project with precomputed vectors (ratio_vs_slowest_raw), the same files
again (unchanged), then the project from scratch with the configured embedder, and the embedder alone
(wall_vs_embedder: the goal is that the writes hide behind the embedder). The project's runs start on empty
stores that are initialised (initialise_stores: the empty collection exists and is loaded), as the raw
baselines' collection is created before their clock starts.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from bench import corpus, cpu, raw, stack
from bench.stats import ratio

STEPS = {  # ingestion calls these through the module attribute, so wrapping them times each step
    "ingestion.store_sync": ("embed", "concepts", "write_milvus_group", "write_neo4j_group"),
    "rag_data.ledger": ("begin_group", "mark_group", "documents_lock"),
    "vectorstore.services": ("delete_document_chunks", "delete_chunks", "upsert_chunks"),
    "graphstore.services": ("write_documents",),
}


def run(sizes: list[int], workdir: Path, *, raw_milvus_batch: int | None = None, raw_docs_per_tx: int = 100,
        log=print) -> dict:
    from django.conf import settings

    from ingestion.store_sync import MILVUS_MESSAGE_BYTES

    size, overlap = settings.CHUNK_SIZE, settings.CHUNK_OVERLAP
    # The raw side inserts in messages as large as the project's group upserts (cut at the same byte size).
    batch = raw_milvus_batch or MILVUS_MESSAGE_BYTES // (settings.EMBEDDING_DIM * 4 + 256)
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
            log(f"ingest {chunks}: raw {name} (after {cpu.wait_quiet()} s for the servers to go quiet)")
            with cpu.measured() as used:
                started = time.process_time()
                baseline = func(prepared, arg)
            baselines.append({**baseline, "cpu": cpu.add_client(used, time.process_time() - started)})
        del prepared
        initialise_stores()
        log(f"ingest {chunks}: project, vectors and concepts precomputed (child process)")
        first = child(directory, "--precomputed")
        log(f"ingest {chunks}: project again, unchanged files")
        again = child(directory)
        stack.clean_all()
        initialise_stores()
        log(f"ingest {chunks}: project with the embedder {settings.EMBEDDER} (child process)")
        full = child(directory)
        log(f"ingest {chunks}: the embedder alone over the same chunks (child process)")
        embedder = child(directory, "--embed-only")
        slowest = min(baselines, key=lambda b: b["chunks_per_s"])
        project_rate = chunks / first["seconds"]
        results.append({
            "chunks": chunks, "corpus": manifest, "raw": baselines,
            "project": {**first, "chunks_per_s": round(project_rate, 1), "write_path_chunks_per_s": round(project_rate, 1)},
            "reingest_unchanged": {**again, "chunks_per_s": round(chunks / again["seconds"], 1)},
            "with_embedder": {**full, "chunks_per_s": round(chunks / full["seconds"], 1)},
            "embedder_alone": embedder,
            "wall_vs_embedder": ratio(full["seconds"], embedder["seconds"]),
            "slowest_raw": slowest["store"],
            "ratio_vs_slowest_raw": ratio(project_rate, slowest["chunks_per_s"]),
            "write_path_ratio_vs_slowest_raw": ratio(project_rate, slowest["chunks_per_s"]),
            "peak_rss_mb": full["peak_rss_mb"],
        })
    return {"chunk_size": size, "chunk_overlap": overlap, "raw_milvus_batch": batch,
            "raw_docs_per_tx": raw_docs_per_tx, "sizes": results}


def initialise_stores() -> None:
    """The empty stores as `init_stores` leaves them (the collection created, indexed and loaded, the graph
    constraints), before a timed project run, as the raw baselines create their collection before their clock
    starts: creating and loading a collection costs ~3 s of waiting on the server, once per deployment."""
    from ingestion.store_sync import prepare_stores

    prepare_stores()


def child(directory: Path, *flags: str) -> dict:
    """Run the project's ingestion in a fresh interpreter; its JSON line, plus the servers' CPU-seconds meanwhile
    (bench.cpu; the child's own CPU is what it spent inside the measured call, all threads)."""
    quiet = cpu.wait_quiet()
    with cpu.measured() as used:
        process = subprocess.Popen([sys.executable, "-m", "bench.ingest", str(directory), *flags],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        stdout, stderr = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"ingest child failed ({process.returncode}): {stderr.strip()[-2000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    result["cpu"] = {**cpu.add_client(used, result.pop("client_cpu_s", 0.0)), "waited_for_quiet_s": quiet}
    return result


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


def _precompute(directory: str) -> None:
    """Replace the embedder and extractor calls by lookups of raw.prepare's cached values (the same values)."""
    from django.conf import settings

    from ingestion import store_sync

    prepared = raw.prepare(Path(directory), settings.CHUNK_SIZE, settings.CHUNK_OVERLAP)
    vectors: dict[str, list[float]] = {}
    position = 0
    concepts: dict[tuple, tuple] = {}
    for document in prepared.documents:
        texts = tuple(row[2] for row in document["rows"])
        for row in document["rows"]:  # keyed by what ingestion embeds: the chunk's context line, then its text
            vectors[store_sync.embedding_text(SimpleNamespace(text=row[2], context=row[4]))] = \
                prepared.vectors[position].tolist()
            position += 1
        concepts[texts] = (document["concepts"], document["pairs"])
    store_sync.embed = lambda texts: [vectors[text] for text in texts]
    store_sync.concepts = lambda texts: concepts[tuple(texts)]


def _embed_only(directory: str) -> dict:
    """The embedder alone over the corpus's chunks, in the groups ingest sends (files read and chunked first)."""
    from django.conf import settings

    from ingestion.services import chunks_for, discover, read_source
    from ingestion.sources import context_for
    from ingestion.store_sync import embedding_text
    from textmodels.embedders import get_embedder

    sources, _ = discover([directory], stack.ID_PREFIX)
    groups = []
    for start in range(0, len(sources), settings.INGEST_GROUP_SIZE):
        texts = []
        for source in sources[start:start + settings.INGEST_GROUP_SIZE]:
            parsed, _ = read_source(source.path, settings.INGEST_MAX_FILE_BYTES)
            title = source.title or parsed.title
            texts += [embedding_text(SimpleNamespace(text=piece.text, context=context_for(title, piece.headings)))
                      for piece in chunks_for(parsed, settings.CHUNK_SIZE, settings.CHUNK_OVERLAP)]
        groups.append(texts)  # what ingestion embeds: each chunk's context line, then its text
    started, cpu_started = time.perf_counter(), time.process_time()
    embedder = get_embedder()
    for texts in groups:
        embedder.embed(texts)
    return {"seconds": round(time.perf_counter() - started, 3), "client_cpu_s": round(time.process_time() - cpu_started, 2),
            "chunks": sum(map(len, groups)), "embedder": settings.EMBEDDER, "peak_rss_mb": _peak_rss_mb()}


def _child_main(directory: str, flags: list[str]) -> None:
    import django

    django.setup()
    if "--embed-only" in flags:
        print(json.dumps(_embed_only(directory)))
        return
    if "--precomputed" in flags:
        _precompute(directory)
    from ingestion.services import ingest_paths

    steps: dict[str, float] = {}
    _instrument(steps)
    started, cpu_started = time.perf_counter(), time.process_time()
    report = ingest_paths([directory], id_prefix=stack.ID_PREFIX)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    print(json.dumps({"seconds": round(seconds, 3), "client_cpu_s": round(cpu_seconds, 2), "counts": report.counts(),
                      "failures": [failure["reason"][:300] for failure in report.failed[:3]],
                      "steps_s": {name: round(value, 3) for name, value in steps.items()},
                      "stage_s": {name: round(value, 3) for name, value in report.stage_seconds.items()},
                      "peak_rss_mb": _peak_rss_mb()}))


if __name__ == "__main__":
    _child_main(sys.argv[1], sys.argv[2:])

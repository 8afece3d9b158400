"""Ingest files (text, Markdown, HTML, PDF) into the three stores, idempotently, in groups of documents.

Which files and what they are called: ingestion/sources.py (the id scheme is in its docstring); how each
format becomes text: ingestion/formats.py; how one group goes through the stores: ingestion/groups.py.
Per file: read and extract (bad files are skipped with a reason), hash the bytes, chunk; unchanged content
(same hash, same chunk ids, status complete) writes nothing. The files to write go in groups of
INGEST_GROUP_SIZE: PostgreSQL (documents pending + chunks, one transaction) -> Milvus (old rows deleted,
new ones upserted) and Neo4j (one transaction) at the same time -> complete (one ledger UPDATE), and a
group's Neo4j write overlaps the next group's PostgreSQL and Milvus writes (ingestion/overlap.py). While
one group is written, a worker thread reads, chunks, embeds and extracts the next, so the stores' round
trips hide behind the embedder.

A failure marks the group's documents failed (a failure that is not an outage is retried file by file, so
one bad file fails alone) and the run goes on; after OUTAGE_LIMIT consecutive files failed because one
store is unreachable, the remaining files are not attempted (they would each wait out the store's
timeout), and are reported failed. A file whose id the ledger holds for another source path is refused
(failed), never overwritten.

Progress: `progress(done, total, path)` is called when a file is done (a group's files one after the
other once the group's outcome is recorded, which is while the next group is being written);
`on_progress(Progress)` also when a stage starts (from any of the threads), with the chunks done so far.
The report sums the seconds spent in each stage (read, chunk, embed, extract, postgres, milvus, neo4j)
over the run, in all threads (so the sum can exceed the wall time).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import DatabaseError

from core import metrics
from ingestion import groups, store_sync
from ingestion.chunking import check_parameters
from ingestion.formats import TEXT_EXTENSIONS, Skip, title_for  # noqa: F401 -- the names callers know
from ingestion.sources import (  # noqa: F401 -- re-exported: the names callers know
    SourceFile, check_prefix, chunk_id_for, chunks_for, discover, document_id_for, is_upload_path, read_source,
    read_source_file, read_text, slugify,
)
from ingestion.groups import StepFailed  # noqa: F401 -- re-exported
from ingestion.overlap import Writer
from rag_data import services as rag_services

logger = logging.getLogger(__name__)

OUTAGE_LIMIT = 3
STAGES = ("read", "chunk", "embed", "extract", "postgres", "milvus", "neo4j")

@dataclass
class IngestReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"path", "reason"}
    failed: list[dict] = field(default_factory=list)  # {"path", "document_id", "reason", "transient"}
    chunks: int = 0  # chunks of the files done (written or found unchanged)
    chunks_written: int = 0  # of those, the chunks written (the share that decides a statistics refresh)
    stage_seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("created", "updated", "unchanged", "skipped", "failed")}

    def as_dict(self) -> dict:
        data = asdict(self)
        data["stage_seconds"] = {stage: round(seconds, 4) for stage, seconds in self.stage_seconds.items()}
        return {"counts": self.counts(), **data}


@dataclass(frozen=True)
class Progress:
    files_done: int
    files_total: int
    chunks_done: int
    stage: str  # one of STAGES while a file is worked on, "done" when it is finished
    path: str


class _Run:
    """The clock and progress of one ingest_paths call (used by both threads: a lock guards the sums)."""

    def __init__(self, report: IngestReport, total: int, progress: Callable[[int, int, str], None] | None,
                 on_progress: Callable[[Progress], None] | None):
        self.report, self.total, self.progress, self.on_progress = report, total, progress, on_progress
        self.files_done, self.path = 0, ""
        self._lock = threading.Lock()

    def tell(self, stage: str) -> None:
        if self.on_progress is not None:
            with self._lock:
                self.on_progress(Progress(self.files_done, self.total, self.report.chunks, stage, self.path))

    def file_done(self, path: str) -> None:
        self.path = path
        self.files_done += 1
        self.tell("done")
        if self.progress is not None:
            self.progress(self.files_done, self.total, self.path)

    @contextlib.contextmanager
    def stage(self, name: str):
        self.tell(name)
        started = time.perf_counter()
        try:
            yield
        finally:
            with self._lock:
                self.report.stage_seconds[name] += time.perf_counter() - started


def ingest_paths(paths, *, id_prefix: str = "", progress: Callable[[int, int, str], None] | None = None,
                 chunk_size: int | None = None, chunk_overlap: int | None = None,
                 on_progress: Callable[[Progress], None] | None = None) -> IngestReport:
    """Ingest files and directories; see the module docstring. Unreachable stores at the start raise
    store_sync.StoreFailure before anything is written."""
    size = settings.CHUNK_SIZE if chunk_size is None else chunk_size
    overlap = settings.CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap
    check_parameters(size, overlap)
    sources, skipped = discover(paths, id_prefix)
    return ingest_sources(sources, skipped=skipped, progress=progress, chunk_size=size, chunk_overlap=overlap,
                          on_progress=on_progress)


def ingest_sources(sources: list[SourceFile], *, skipped: list[dict] | None = None,
                   progress: Callable[[int, int, str], None] | None = None, chunk_size: int | None = None,
                   chunk_overlap: int | None = None, on_progress: Callable[[Progress], None] | None = None
                   ) -> IngestReport:
    """ingest_paths for sources already named (files found by discover, or uploads: ingestion/uploads.py).

    A failed row's `transient` is true when a store was unreachable (waiting and retrying may cure it)."""
    size = settings.CHUNK_SIZE if chunk_size is None else chunk_size
    overlap = settings.CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap
    check_parameters(size, overlap)
    report = IngestReport(skipped=list(skipped or []))
    store_sync.prepare_stores()
    try:
        _pipeline(sources, report, size, overlap, progress, on_progress)
        _refresh_statistics(report)
    finally:
        for outcome, count in report.counts().items():
            metrics.ingested(outcome, documents=count)
    return report


def _refresh_statistics(report: IngestReport) -> None:
    """Fresh keyword statistics after a large write (rag_data.services.refresh_search_statistics); a failure only
    leaves them to autovacuum, so it is a warning, never a failed ingest."""
    try:
        rag_services.refresh_search_statistics(report.chunks_written)
    except DatabaseError as error:
        logger.warning("keyword statistics not refreshed (%s); autovacuum will", type(error).__name__)


def _pipeline(sources, report: IngestReport, size: int, overlap: int, progress, on_progress) -> None:
    run = _Run(report, len(sources), progress, on_progress)
    group_size = settings.INGEST_GROUP_SIZE
    batches = [sources[start:start + group_size] for start in range(0, len(sources), group_size)]
    outages: list[str] = []

    def prepare(batch):
        return groups.prepare(batch, size, overlap, settings.INGEST_MAX_FILE_BYTES, run)

    def finished(items, outcomes) -> None:  # a group is done (the writer calls it, in order)
        nonlocal outages
        for outage in outcomes:
            outages = outages + [outage] if outage else []
        for item in items:
            if item.skip is not None:
                report.skipped.append({"path": str(item.source.path), "reason": item.skip})
            run.file_done(str(item.source.path))

    def write(items, computed) -> None:
        computed.result()
        if outages:  # files are failing on an outage: the group in flight's outcome decides what comes next
            writer.finish()
        if len(outages) >= OUTAGE_LIMIT and len(set(outages[-OUTAGE_LIMIT:])) == 1:  # (finished just above)
            for item in items:
                if item.skip is None:
                    groups.failed(report, item, f"not attempted: {outages[-1]} unreachable "
                                                f"({OUTAGE_LIMIT} files in a row failed on it)", transient=True)
            finished(items, [])
        else:
            writer.write(items)

    # One worker prepares and computes group N+1 while this thread writes group N (and plans, since the
    # ledger is read on this thread's connection); the writer overlaps N's graph write with N+1's
    # PostgreSQL and Milvus writes (ingestion/overlap.py).
    writer = Writer(report, run, finished)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest") as pool:
        try:
            prepared = pool.submit(prepare, batches[0]) if batches else None
            held = None
            for index in range(len(batches)):
                items = prepared.result()
                groups.preplan(items)
                computed = pool.submit(groups.compute, items, run)
                if index + 1 < len(batches):
                    prepared = pool.submit(prepare, batches[index + 1])
                if held is not None:
                    write(*held)
                held = (items, computed)
            if held is not None:
                write(*held)
            writer.finish()
        finally:
            writer.close()

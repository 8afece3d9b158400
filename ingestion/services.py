"""Ingest files (text, Markdown, HTML, PDF) into the three stores, idempotently, one ledgered document at a time.

Which files and what they are called: ingestion/sources.py (the id scheme is in its docstring); how each
format becomes text: ingestion/formats.py. Per file: read and extract (bad files are skipped with a
reason), hash the bytes, chunk; unchanged content (same hash, same chunk ids, status complete) writes
nothing. Otherwise, with vectors and concepts computed before any write: PostgreSQL (document pending +
chunks, one transaction) -> Milvus (old rows deleted, new ones upserted in batches) -> Neo4j -> complete.
A failure marks the document failed and the batch goes on; after OUTAGE_LIMIT consecutive failures
because one store is unreachable, the remaining files are not attempted (they would each wait out the
store's timeout), and are reported failed. A file whose id the ledger holds for another source path is
refused (failed), never overwritten.

Progress: `progress(done, total, path)` is called when a file is done; `on_progress(Progress)` also when
each stage of a file starts, with the chunks done so far. The report sums the seconds spent in each
stage (read, chunk, embed, extract, postgres, milvus, neo4j) over the run.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.conf import settings
from django.db import DatabaseError, connection

from core import metrics
from core.retry import StoreUnavailable, describe_error, is_transient
from ingestion import store_sync
from ingestion.chunking import check_parameters
from ingestion.formats import TEXT_EXTENSIONS, Skip, title_for  # noqa: F401 -- the names callers know
from ingestion.sources import (  # noqa: F401 -- re-exported: the names callers know
    SourceFile, check_prefix, chunk_id_for, chunks_for, discover, document_id_for, is_upload_path, read_source,
    read_source_file, read_text, slugify,
)
from rag_data import ledger
from rag_data.models import Chunk, Document

OUTAGE_LIMIT = 3
STAGES = ("read", "chunk", "embed", "extract", "postgres", "milvus", "neo4j")
_STAGE_OF_STEP = {"PostgreSQL": "postgres", "Embedder": "embed", "Extractor": "extract", "Milvus": "milvus",
                  "Neo4j": "neo4j"}


class StepFailed(Exception):
    def __init__(self, store: str, error: BaseException):
        self.store, self.error = store, error
        super().__init__(f"{store}: {describe_error(error)}")


@dataclass
class IngestReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"path", "reason"}
    failed: list[dict] = field(default_factory=list)  # {"path", "document_id", "reason", "transient"}
    chunks: int = 0  # chunks of the files done (written or found unchanged)
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
    """The clock and progress of one ingest_paths call (reached from _step through a context variable)."""

    def __init__(self, report: IngestReport, total: int, progress: Callable[[int, int, str], None] | None,
                 on_progress: Callable[[Progress], None] | None):
        self.report, self.total, self.progress, self.on_progress = report, total, progress, on_progress
        self.files_done, self.path = 0, ""

    def tell(self, stage: str) -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(self.files_done, self.total, self.report.chunks, stage, self.path))

    def file_done(self) -> None:
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
            self.report.stage_seconds[name] += time.perf_counter() - started


_run: contextvars.ContextVar[_Run | None] = contextvars.ContextVar("ingest_run", default=None)


def _stage(name: str):
    run = _run.get()
    return run.stage(name) if run is not None else contextlib.nullcontext()


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
    run = _Run(report, len(sources), progress, on_progress)
    token = _run.set(run)
    try:
        outages: list[str] = []
        for source in sources:
            run.path = str(source.path)
            if len(outages) >= OUTAGE_LIMIT and len(set(outages[-OUTAGE_LIMIT:])) == 1:
                report.failed.append({"path": str(source.path), "document_id": source.document_id,
                                      "reason": f"not attempted: {outages[-1]} unreachable "
                                                f"({OUTAGE_LIMIT} files in a row failed on it)", "transient": True})
            else:
                outage = _ingest_locked(source, size, overlap, report)
                outages = outages + [outage] if outage else []
            run.file_done()
    finally:
        _run.reset(token)
        for outcome, count in report.counts().items():
            metrics.ingested(outcome, documents=count)
    return report


def _ingest_locked(source: SourceFile, size: int, overlap: int, report: IngestReport) -> str | None:
    """One file under its document's lock, on a live connection (PostgreSQL may have restarted)."""
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        with ledger.document_lock(source.document_id):
            return _ingest_one(source, size, overlap, report)
    except DatabaseError as error:  # the lock itself could not be taken: PostgreSQL is the problem
        report.failed.append({"path": str(source.path), "document_id": source.document_id,
                              "reason": f"PostgreSQL: {describe_error(error)}", "transient": True})
        return "PostgreSQL"


def _ingest_one(source: SourceFile, size: int, overlap: int, report: IngestReport) -> str | None:
    """Ingest one file into `report`; returns the store's name when it failed because that store is down."""
    try:
        with _stage("read"):
            parsed, content_hash = read_source_file(source, settings.INGEST_MAX_FILE_BYTES)
    except Skip as reason:
        report.skipped.append({"path": str(source.path), "reason": str(reason)})
        return None
    with _stage("chunk"):
        pieces = chunks_for(parsed, size, overlap)
        rows = [ledger.ChunkRow(chunk_id_for(source.document_id, n, piece.text, piece.page), n, piece.text,
                                hashlib.sha256(piece.text.encode()).hexdigest()) for n, piece in enumerate(pieces)]
    title = source.title or parsed.title
    document, begun = None, False
    try:
        document = _step("PostgreSQL", lambda: Document.objects.filter(document_id=source.document_id).first())
        if document is not None and document.source_path != source.relative[:1024] and not (
                is_upload_path(source.relative) and is_upload_path(document.source_path)):  # an upload replaces one
            report.failed.append({"path": str(source.path), "document_id": source.document_id,
                                  "reason": f"document id {source.document_id} already belongs to "
                                            f"{document.source_path!r}, not {source.relative!r}: refused, "
                                            "nothing overwritten (ingest it with another --id-prefix)",
                                  "transient": False})
            return None
        if document is not None and _unchanged(document, source, title, content_hash, rows):
            report.unchanged.append(source.document_id)
            report.chunks += len(rows)
            metrics.ingested("unchanged", documents=0, chunks=len(rows))
            return None
        stale = _stale_chunk_ids(document)
        texts = [row.text for row in rows]
        vectors = _step("Embedder", store_sync.embed, texts)
        extracted = _step("Extractor", store_sync.concepts, texts)
        document, created = _step("PostgreSQL", ledger.begin, document_id=source.document_id,
                                  source_path=source.relative, title=title,
                                  content_hash=content_hash, chunks=rows)
        begun = True
        _step("Milvus", store_sync.write_milvus, document, rows, vectors, stale)
        _step("PostgreSQL", ledger.mark_in_milvus, document)
        _step("Neo4j", store_sync.write_neo4j, document, texts, extracted)
        _step("PostgreSQL", ledger.mark_in_neo4j, document)
        _step("PostgreSQL", ledger.mark_complete, document)
    except StepFailed as failure:
        reason = str(failure)
        if begun and failure.store != "PostgreSQL":
            try:
                ledger.mark_failed(document, reason)
            except Exception as error:  # PostgreSQL gone too: the row stays pending, which reconcile handles
                reason += f" (and the ledger could not record it: {describe_error(error)})"
        down = isinstance(failure.error, StoreUnavailable) or is_transient(failure.error)
        report.failed.append({"path": str(source.path), "document_id": source.document_id, "reason": reason,
                              "transient": down})
        return failure.store if down else None
    (report.created if created else report.updated).append(source.document_id)
    report.chunks += len(rows)
    metrics.ingested("written", documents=0, chunks=len(rows))
    return None


def _stale_chunk_ids(document: Document | None) -> list[str] | None:
    """Chunk ids Milvus may hold for the document: known exactly only when it was complete."""
    if document is None:
        return []
    if document.status != Document.Status.COMPLETE:
        return None  # an interrupted write may have left other rows: delete by document
    return _step("PostgreSQL", lambda: list(Chunk.objects.filter(document=document)
                                            .values_list("chunk_id", flat=True)))


def _unchanged(document: Document, source: SourceFile, title: str, content_hash: str,
               rows: list[ledger.ChunkRow]) -> bool:
    if document.content_hash != content_hash or document.status != Document.Status.COMPLETE:
        return False
    if document.title != title[:512] or document.source_path != source.relative[:1024]:
        return False  # an upload renamed or retitled: its Milvus metadata changes
    stored = list(Chunk.objects.filter(document=document).order_by("ordinal").values_list("chunk_id", flat=True))
    return stored == [row.chunk_id for row in rows]  # other chunking parameters -> rewrite


def _step(store: str, func, *args, **kwargs):
    try:
        with _stage(_STAGE_OF_STEP[store]):
            return func(*args, **kwargs)
    except Exception as error:  # any failure of one file's step; the batch goes on
        raise StepFailed(store, error) from error

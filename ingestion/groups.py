"""One group of files through the stores (ingestion.services drives the groups and overlaps them).

prepare (read, hash, chunk: no database) -> plan (one read of the group's ledger rows and chunk ids: which
files are unchanged, refused or to write) -> compute (embed all the group's chunks in one call, extract each
file's concepts: no database) -> write, under the group's document locks (taken in one stable order):
plan again (what the ledger says now decides), then one PostgreSQL transaction for the group's documents
and chunks (pending), one Milvus write, in_milvus for all, one Neo4j transaction, in_neo4j for all,
complete for all. prepare and compute run in the worker thread while the previous group is written; plan
and write run in the caller's thread (its database connection holds the locks).

A step that fails leaves every document of the group pending or failed, with the flags of the stores
already written (reconcile repairs them). A failure that is not an outage (say, one bad document) is
retried document by document, so one file cannot fail the others.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import DatabaseError, connection

from core import metrics
from core.retry import StoreUnavailable, describe_error, is_transient
from ingestion import store_sync
from ingestion.formats import Extracted, Skip
from ingestion.sources import SourceFile, chunk_id_for, chunks_for, context_for, is_upload_path, read_source_file
from rag_data import ledger
from rag_data.models import Chunk, Document

WRITE, UNCHANGED, REFUSED = "write", "unchanged", "refused"
STAGE_OF_STEP = {"PostgreSQL": "postgres", "Embedder": "embed", "Extractor": "extract", "Milvus": "milvus",
                 "Neo4j": "neo4j"}


class StepFailed(Exception):
    def __init__(self, store: str, error: BaseException):
        self.store, self.error = store, error
        super().__init__(f"{store}: {describe_error(error)}")

    @property
    def outage(self) -> bool:
        return isinstance(self.error, StoreUnavailable) or is_transient(self.error)


@dataclass
class Item:
    """One file on its way through the pipeline."""
    source: SourceFile
    skip: str | None = None
    parsed: Extracted | None = None
    content_hash: str = ""
    title: str = ""
    rows: list[ledger.ChunkRow] = field(default_factory=list)
    verdict: str = ""  # set by plan: WRITE, UNCHANGED or REFUSED ("" when the ledger could not be read)
    document: Document | None = None
    stale: list[str] | None = None  # chunk ids Milvus holds for it, None when not known exactly
    vectors: list | None = None
    extracted: tuple | None = None
    failure: StepFailed | None = None


def step(clock, store: str, func, *args):
    try:
        with clock.stage(STAGE_OF_STEP[store]):
            return func(*args)
    except Exception as error:  # any failure of the group's step: the caller decides what it means
        raise StepFailed(store, error) from error


def prepare(sources: list[SourceFile], size: int, overlap: int, max_bytes: int, clock) -> list[Item]:
    items = []
    for source in sources:
        item = Item(source)
        items.append(item)
        try:
            with clock.stage("read"):
                item.parsed, item.content_hash = read_source_file(source, max_bytes)
        except Skip as reason:
            item.skip = str(reason)
            continue
        item.title = source.title or item.parsed.title
        with clock.stage("chunk"):
            pieces = chunks_for(item.parsed, size, overlap)
            item.rows = [ledger.ChunkRow(chunk_id_for(source.document_id, n, piece.text, piece.page), n, piece.text,
                                         hashlib.sha256(piece.text.encode()).hexdigest(),
                                         context_for(item.title, piece.headings))
                         for n, piece in enumerate(pieces)]
    return items


def plan(items: list[Item]) -> None:
    """Set each item's verdict from the ledger as it is now: two queries for the group."""
    live = [item for item in items if item.skip is None]
    documents = {d.document_id: d for d in Document.objects.filter(
        document_id__in=[item.source.document_id for item in live])}
    complete = [d.pk for d in documents.values() if d.status == Document.Status.COMPLETE]
    held: dict[int, list[str]] = defaultdict(list)
    contexts: dict[int, list[str]] = defaultdict(list)
    for pk, chunk_id, context in Chunk.objects.filter(document__in=complete).order_by(
            "document", "ordinal").values_list("document", "chunk_id", "context"):
        held[pk].append(chunk_id)
        contexts[pk].append(context)
    for item in live:
        document = item.document = documents.get(item.source.document_id)
        if document is None:
            item.verdict, item.stale = WRITE, []
        elif document.source_path != item.source.relative[:1024] and not (
                is_upload_path(item.source.relative) and is_upload_path(document.source_path)):
            item.verdict = REFUSED  # (an upload replaces an upload of the same id)
        elif document.status != Document.Status.COMPLETE:
            item.verdict, item.stale = WRITE, None  # an interrupted write may have left other rows
        elif (document.content_hash == item.content_hash and held[document.pk] == [r.chunk_id for r in item.rows]
              and contexts[document.pk] == [r.context for r in item.rows]
              and document.title == item.title[:512] and document.source_path == item.source.relative[:1024]
              and (document.metadata or {}) == (item.source.metadata or {})):
            item.verdict = UNCHANGED  # other chunking parameters give other ids; a retitled upload: rewrite
        else:
            item.verdict, item.stale = WRITE, held[document.pk]


def preplan(items: list[Item]) -> None:
    """plan() before the locks, to know what to embed; if the ledger cannot be read, plan under the locks."""
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
        plan(items)
    except Exception:  # PostgreSQL down or restarting: write() finds out under the locks and says so
        for item in items:
            item.verdict = ""


def compute(items: list[Item], clock) -> None:
    """Vectors (one embedder call for the group) and concepts for the items to write that lack them."""
    todo = [item for item in items if item.verdict == WRITE and item.vectors is None and item.failure is None]
    if not todo:
        return
    try:
        vectors = step(clock, "Embedder", store_sync.embed,
                       [store_sync.embedding_text(row) for item in todo for row in item.rows])
    except StepFailed as failure:
        for item in todo:
            item.failure = failure
        return
    start = 0
    for item in todo:
        item.vectors, start = vectors[start:start + len(item.rows)], start + len(item.rows)
        try:
            item.extracted = step(clock, "Extractor", store_sync.concepts, [row.text for row in item.rows])
        except StepFailed as failure:
            item.failure = failure


def write(items: list[Item], report, clock) -> list[str | None]:
    """Write the group under its documents' locks; returns, per file not skipped, the store whose outage
    failed it (None otherwise)."""
    live = [item for item in items if item.skip is None]
    if not live:
        return []
    try:
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()  # PostgreSQL may have restarted
        with ledger.documents_lock(item.source.document_id for item in live):
            return _write_locked(live, report, clock)
    except DatabaseError as error:  # the locks could not be taken (or released): PostgreSQL is the problem
        done = {*report.created, *report.updated, *report.unchanged, *(row["document_id"] for row in report.failed)}
        for item in live:
            if item.source.document_id not in done:
                failed(report, item, f"PostgreSQL: {describe_error(error)}", True)
        return ["PostgreSQL"] * len(live)


def _write_locked(live: list[Item], report, clock) -> list[str | None]:
    try:
        step(clock, "PostgreSQL", plan, live)
    except StepFailed as failure:
        for item in live:
            failed(report, item, str(failure), failure.outage)
        return [failure.store if failure.outage else None] * len(live)
    compute(live, clock)  # only what the first plan did not foresee (changed meanwhile, or not planned)
    outcome: dict[int, str | None] = {}
    writing = []
    for item in live:
        if item.verdict == REFUSED:
            failed(report, item, f"document id {item.source.document_id} already belongs to "
                                 f"{item.document.source_path!r}, not {item.source.relative!r}: refused, "
                                 "nothing overwritten (ingest it with another --id-prefix)")
        elif item.verdict == UNCHANGED:
            report.unchanged.append(item.source.document_id)
            report.chunks += len(item.rows)
            metrics.ingested("unchanged", documents=0, chunks=len(item.rows))
        elif item.failure is not None:
            failed(report, item, str(item.failure), item.failure.outage)
            outcome[id(item)] = item.failure.store if item.failure.outage else None
        else:
            writing.append(item)
    if writing:
        outcome.update(_write_stores(writing, report, clock))
    return [outcome.get(id(item)) for item in live]


def _write_stores(writing: list[Item], report, clock) -> dict[int, str | None]:
    begun: list[Document] = []
    try:
        entries = [ledger.GroupEntry(item.source.document_id, item.source.relative, item.title,
                                     item.content_hash, item.rows, item.source.metadata) for item in writing]
        written = step(clock, "PostgreSQL", ledger.begin_group, entries)
        begun = [document for document, _ in written]
        step(clock, "Milvus", store_sync.write_milvus_group,
             [(document, item.rows, item.vectors, item.stale) for document, item in zip(begun, writing)])
        step(clock, "PostgreSQL", _mark, begun, {"in_milvus": True})
        step(clock, "Neo4j", store_sync.write_neo4j_group,
             [(document, item.extracted) for document, item in zip(begun, writing)])
        step(clock, "PostgreSQL", _mark, begun, {"in_neo4j": True})
        step(clock, "PostgreSQL", _mark, begun, {"status": Document.Status.COMPLETE, "last_error": ""})
    except StepFailed as failure:
        reason = str(failure)
        if begun and failure.store != "PostgreSQL":
            try:
                ledger.mark_group_failed(begun, reason)
            except Exception as error:  # PostgreSQL gone too: the rows stay pending, which reconcile handles
                reason += f" (and the ledger could not record it: {describe_error(error)})"
        if len(writing) > 1 and not failure.outage:  # one bad document must not fail the others
            return {id(item): _write_locked([item], report, clock)[0] for item in writing}
        for item in writing:
            failed(report, item, reason, failure.outage)
        return {id(item): failure.store if failure.outage else None for item in writing}
    for (document, created), item in zip(written, writing):
        (report.created if created else report.updated).append(document.document_id)
        report.chunks += len(item.rows)
        metrics.ingested("written", documents=0, chunks=len(item.rows))
    return {id(item): None for item in writing}


def _mark(documents: list[Document], fields: dict) -> None:
    ledger.mark_group(documents, **fields)


def failed(report, item: Item, reason: str, transient: bool = False) -> None:
    report.failed.append({"path": str(item.source.path), "document_id": item.source.document_id, "reason": reason,
                          "transient": transient})

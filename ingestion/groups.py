"""One group of files through the stores (ingestion.services drives the groups, ingestion.overlap overlaps
their writes).

prepare (read, hash, chunk: no database) -> plan (one read of the group's ledger rows and chunk ids: which
files are unchanged, refused or to write) -> compute (embed all the group's chunks in one call, extract each
file's concepts: no database) -> under the group's document locks (taken in one stable order): sort (plan
again: what the ledger says now decides) -> launch (one PostgreSQL transaction for the group's documents and
chunks, pending; then the Neo4j transaction in the graph thread while the Milvus write runs in the caller's)
-> land (wait for the graph write, then one ledger UPDATE: both flags and complete, or the flags of the
stores written and failed). prepare and compute run in the worker thread while the previous group is
written; sort, launch and land run in the caller's thread (its database connection holds the locks and
makes every ledger write).

A step that fails leaves every document of the group pending or failed, with the flags of the stores
written (reconcile repairs them). A failure that is not an outage (say, one bad document) is retried
document by document, so one file cannot fail the others.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from concurrent import futures
from concurrent.futures import Future, ThreadPoolExecutor
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


def sort(live: list[Item], report, clock) -> tuple[dict[int, str | None], list[Item]]:
    """Under the group's locks: plan again (what the ledger says now decides), report the unchanged, refused
    and failed items, compute what the first plan did not foresee; returns (outcome of the items done: the
    store whose outage failed each, or None, by id(item)), the items to write)."""
    try:
        step(clock, "PostgreSQL", plan, live)
    except StepFailed as failure:
        for item in live:
            failed(report, item, str(failure), failure.outage)
        return {id(item): failure.store if failure.outage else None for item in live}, []
    compute(live, clock)  # only what the first plan did not foresee (changed meanwhile, or not planned)
    outcome: dict[int, str | None] = {}
    writing = []
    for item in live:
        if item.verdict == REFUSED:
            failed(report, item, f"document id {item.source.document_id} already belongs to "
                                 f"{item.document.source_path!r}, not {item.source.relative!r}: refused, "
                                 "nothing overwritten (ingest it with another --id-prefix)")
            outcome[id(item)] = None
        elif item.verdict == UNCHANGED:
            report.unchanged.append(item.source.document_id)
            report.chunks += len(item.rows)
            metrics.ingested("unchanged", documents=0, chunks=len(item.rows))
            outcome[id(item)] = None
        elif item.failure is not None:
            failed(report, item, str(item.failure), item.failure.outage)
            outcome[id(item)] = item.failure.store if item.failure.outage else None
        else:
            writing.append(item)
    return outcome, writing


@dataclass
class Flight:
    """A group whose ledger rows are pending and whose Milvus and Neo4j writes have been started."""
    writing: list[Item]
    written: list[tuple[Document, bool]]
    graph: Future  # the Neo4j write, in the graph thread: None, or raises StepFailed
    milvus: StepFailed | None  # the Milvus write's failure (it ran in the caller's thread), if any


def launch(writing: list[Item], clock, graphs: ThreadPoolExecutor, before_graph=None) -> Flight:
    """begin_group (the rows pending in PostgreSQL before any other store is written), then the Neo4j write
    in the graph thread and the Milvus write here, at the same time. `before_graph` runs between the two (the
    caller lands its previous group there, so graph writes stay in order). Raises StepFailed(PostgreSQL)."""
    entries = [ledger.GroupEntry(item.source.document_id, item.source.relative, item.title, item.content_hash,
                                 item.rows, item.source.metadata) for item in writing]
    written = step(clock, "PostgreSQL", ledger.begin_group, entries)
    if before_graph is not None:
        before_graph()
    begun = [document for document, _ in written]
    graph = graphs.submit(_write_graph, clock, [(document, item.extracted) for document, item in zip(begun, writing)])
    try:
        step(clock, "Milvus", store_sync.write_milvus_group,
             [(document, item.rows, item.vectors, item.stale) for document, item in zip(begun, writing)])
        milvus = None
    except StepFailed as failure:
        milvus = failure
    except BaseException:  # interrupted: the caller lets the locks go, never under a running graph write
        futures.wait([graph])
        raise
    return Flight(writing, written, graph, milvus)


def _write_graph(clock, pairs) -> None:
    """In the graph thread (its own database connection holds the namespace's graph lock)."""
    try:
        step(clock, "Neo4j", _graph_locked, pairs)
    except StepFailed as failure:
        if isinstance(failure.error, DatabaseError):  # the graph lock: PostgreSQL failed, not Neo4j
            raise StepFailed("PostgreSQL", failure.error) from failure.error
        raise


def _graph_locked(pairs) -> None:
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()  # PostgreSQL may have restarted
    store_sync.write_neo4j_group(pairs)


def land(flight: Flight, report, clock, graphs: ThreadPoolExecutor) -> dict[int, str | None]:
    """Wait for the group's Neo4j write, record the outcome in one ledger UPDATE (complete when both stores
    have the group) and report it; returns, by id(item), the store whose outage failed each item, or None."""
    try:
        flight.graph.result()
        graph = None
    except StepFailed as failure:
        graph = failure
    failures = [f for f in (flight.milvus, graph) if f is not None]
    failure = next((f for f in failures if f.outage), failures[0] if failures else None)
    begun = [document for document, _ in flight.written]
    reason = "; ".join(str(f) for f in failures)
    try:
        step(clock, "PostgreSQL", lambda: ledger.record_group(begun, milvus=flight.milvus is None,
                                                               neo4j=graph is None, error=reason or None))
    except StepFailed as recording:
        if failure is None:
            failure, reason = recording, str(recording)
        else:  # PostgreSQL gone too: the rows stay pending, which reconcile handles
            reason += f" (and the ledger could not record it: {describe_error(recording.error)})"
    if failure is not None:
        return failed_group(flight.writing, failure, reason, report, clock, graphs)
    for (document, created), item in zip(flight.written, flight.writing):
        (report.created if created else report.updated).append(document.document_id)
        report.chunks += len(item.rows)
        report.chunks_written += len(item.rows)
        metrics.ingested("written", documents=0, chunks=len(item.rows))
    return {id(item): None for item in flight.writing}


def failed_group(writing: list[Item], failure: StepFailed, reason: str, report, clock,
                 graphs: ThreadPoolExecutor) -> dict[int, str | None]:
    """Report a group's failure: an outage fails every document; any other failure is retried document by
    document (under the caller's locks)."""
    if len(writing) > 1 and not failure.outage:  # one bad document must not fail the others
        outcome: dict[int, str | None] = {}
        for item in writing:
            outcome.update(write_locked([item], report, clock, graphs))
        return outcome
    for item in writing:
        failed(report, item, reason, failure.outage)
    return {id(item): failure.store if failure.outage else None for item in writing}


def write_locked(live: list[Item], report, clock, graphs: ThreadPoolExecutor) -> dict[int, str | None]:
    """sort, launch and land one group without overlapping another (the caller holds its locks)."""
    outcome, writing = sort(live, report, clock)
    if writing:
        try:
            flight = launch(writing, clock, graphs)
        except StepFailed as failure:  # begin_group: nothing written anywhere
            outcome.update(failed_group(writing, failure, str(failure), report, clock, graphs))
        else:
            outcome.update(land(flight, report, clock, graphs))
    return outcome


def failed(report, item: Item, reason: str, transient: bool = False) -> None:
    report.failed.append({"path": str(item.source.path), "document_id": item.source.document_id, "reason": reason,
                          "transient": transient})

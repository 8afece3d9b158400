"""Compare the three stores with the PostgreSQL ledger (the source of truth) and repair the drift.

Found and repaired, in this order:
- documents left `deleting` by an interrupted deletion: the deletion is finished;
- Milvus rows whose chunk_id is not a PostgreSQL chunk of the same document (orphans): deleted;
- Neo4j Document nodes with no PostgreSQL document: deleted (with concepts only they mentioned);
- graph facts no document supports (`_graph_facts`): RELATED_TO edges whose contributing documents are
  not all present and mentioning both concepts (or whose weight is not their sum) are deleted and the
  documents that mention both concepts rewritten; concepts no document mentions are deleted; documents
  written by an older graph format (adopted from before namespaces) are rewritten;
- documents pending/failed, or missing (some or all chunks) from Milvus or from Neo4j: that store is
  rewritten from PostgreSQL (chunk texts re-embedded, concepts re-extracted) and the document marked
  complete only afterwards.
Neo4j is seen only within this deployment's namespace (settings.RAG_NAMESPACE): another deployment's
documents on the same server are neither orphans nor touched.
Idempotent: a second run finds nothing. A store that becomes unreachable stops the run (StoreFailure).

Concurrent writers (ingest, delete_document, another reconcile) are expected: the plan is computed from
a snapshot without locks, then every action takes the document's lock (rag_data.ledger.document_lock)
and re-checks under it before changing anything. A document whose ledger row changed after the run
started is left to the writer that changed it (or to the next run); an orphan Milvus row is deleted
only if its chunk id is still absent from PostgreSQL under its document's lock, and only if that
document is not one that appeared or changed since the run started; an orphan Neo4j document only if
PostgreSQL still has no such document. See docs/concurrency.md.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import connection
from django.utils import timezone

from core.retry import StoreUnavailable, describe_error
from graphstore import selectors as graph_selectors
from graphstore import services as graph_services
from ingestion import store_sync
from ingestion.deletion import finish_deletion
from rag_data import ledger
from rag_data.models import Chunk, Document
from vectorstore import selectors as vector_selectors
from vectorstore import services as vector_services


# (chunk_id, document_id) pairs per Milvus page: 10,000 reads 5,000 rows in ~0.8 s, 1,000 in ~1.4 s (docs/drift.md).
MILVUS_PAGE = 10_000


@dataclass
class ReconcileReport:
    dry_run: bool
    documents: int = 0
    incomplete: list[str] = field(default_factory=list)  # pending or failed in the ledger
    missing_in_milvus: list[str] = field(default_factory=list)
    missing_in_neo4j: list[str] = field(default_factory=list)
    orphan_milvus_chunks: list[str] = field(default_factory=list)
    orphan_neo4j_documents: list[str] = field(default_factory=list)
    interrupted_deletions: list[str] = field(default_factory=list)
    # Graph facts (see _graph_facts): edges no document supports, as [a, b]; concepts nobody mentions;
    # documents whose graph part is rewritten (older format, or a contributor to an unsupported edge).
    unsupported_graph_edges: list[list[str]] = field(default_factory=list)
    unmentioned_concepts: list[str] = field(default_factory=list)
    stale_in_neo4j: list[str] = field(default_factory=list)
    repaired: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # {"document_id", "reason"}
    # Planned, then left alone: under its lock the document had changed since the run started.
    skipped_changed: list[str] = field(default_factory=list)

    @property
    def drift_found(self) -> bool:
        return any((self.incomplete, self.missing_in_milvus, self.missing_in_neo4j, self.orphan_milvus_chunks,
                    self.orphan_neo4j_documents, self.interrupted_deletions, self.unsupported_graph_edges,
                    self.unmentioned_concepts, self.stale_in_neo4j))

    def as_dict(self) -> dict:
        return {**asdict(self), "drift_found": self.drift_found}


def _in_store(store: str, func, *args):
    try:
        return func(*args)
    except Exception as error:  # stop the run with one line that names the store
        raise store_sync.StoreFailure(store, error) from None


@dataclass
class Plan:
    """What the comparison found (in `report`) and what the repair needs to act on it (plan() returns it)."""

    report: ReconcileReport
    started: datetime  # taken before any read: whatever a writer touches after this, the repair leaves alone
    documents: dict[str, Document]  # the ledger snapshot
    milvus: dict[str, str]  # {chunk_id: document_id} as Milvus holds it
    to_repair: list[tuple[Document, bool, bool]]  # (document, needs_milvus, needs_neo4j)


def plan(*, prepare: bool = False) -> Plan:
    """Compare the stores with the ledger and change nothing (with prepare, the stores are first made ready
    to be written, as a repairing run needs). Also what the online drift check (drift.services) runs."""
    report = ReconcileReport(dry_run=not prepare)
    started = timezone.now()
    if prepare:
        store_sync.prepare_stores()
        collection = True
    else:  # change nothing: an absent collection just means nothing is in Milvus
        collection = _in_store("Milvus", vector_selectors.collection_exists)
        if collection:
            _in_store("Milvus", vector_services.load_collection)

    documents = {d.document_id: d for d in _in_store("PostgreSQL", lambda: list(Document.objects.all()))}
    pg_chunks: dict[str, set[str]] = defaultdict(set)
    chunk_owner: dict[str, str] = {}
    for document_id, chunk_id in _in_store("PostgreSQL", lambda: list(
            Chunk.objects.values_list("document__document_id", "chunk_id").iterator(chunk_size=5000))):
        pg_chunks[document_id].add(chunk_id)
        chunk_owner[chunk_id] = document_id
    milvus = _in_store("Milvus", vector_selectors.all_chunk_documents, MILVUS_PAGE) if collection else {}
    graph_documents = set(_in_store("Neo4j", graph_selectors.document_ids))
    report.documents = len(documents)

    in_milvus: dict[str, set[str]] = defaultdict(set)
    for chunk_id, document_id in sorted(milvus.items()):
        if chunk_owner.get(chunk_id) == document_id and document_id in documents:
            in_milvus[document_id].add(chunk_id)
        else:
            report.orphan_milvus_chunks.append(chunk_id)
    report.orphan_neo4j_documents = sorted(graph_documents - set(documents))
    stale_in_neo4j = _graph_facts(report, documents)

    to_repair = []
    for document_id, document in sorted(documents.items()):
        if document.status == Document.Status.DELETING:
            report.interrupted_deletions.append(document_id)
            continue
        needs_milvus = not document.in_milvus or pg_chunks[document_id] != in_milvus[document_id]
        needs_neo4j = not document.in_neo4j or document_id not in graph_documents or document_id in stale_in_neo4j
        if document.status != Document.Status.COMPLETE:
            report.incomplete.append(document_id)
        if pg_chunks[document_id] != in_milvus[document_id]:
            report.missing_in_milvus.append(document_id)
        if document_id not in graph_documents:
            report.missing_in_neo4j.append(document_id)
        if needs_milvus or needs_neo4j or document.status != Document.Status.COMPLETE or not document.in_postgres:
            to_repair.append((document, needs_milvus, needs_neo4j))
    return Plan(report, started, documents, milvus, to_repair)


def reconcile(dry_run: bool = False) -> ReconcileReport:
    found = plan(prepare=not dry_run)
    report, started, documents, milvus = found.report, found.started, found.documents, found.milvus
    if dry_run:
        return report

    for document_id in report.interrupted_deletions:
        with _locked(document_id, started, report) as (go, current):
            if go and current is not None and current.status == Document.Status.DELETING:
                _in_store("Milvus/Neo4j", finish_deletion, current)
    orphans_by_document: dict[str, list[str]] = defaultdict(list)
    for chunk_id in report.orphan_milvus_chunks:
        orphans_by_document[milvus[chunk_id]].append(chunk_id)
    for document_id, chunk_ids in sorted(orphans_by_document.items()):
        _delete_orphan_chunks(document_id, chunk_ids, document_id in documents, started, report)
    for document_id in report.orphan_neo4j_documents:
        with _locked(document_id, started, report, changed_if_present=True) as (go, current):
            if go and current is None:
                with ledger.graph_lock(settings.RAG_NAMESPACE):
                    _in_store("Neo4j", graph_services.delete_document, document_id)
    # Graph-level facts (no single document owns them); documents contributing to them are rewritten below,
    # each under its own lock.
    with ledger.graph_lock(settings.RAG_NAMESPACE):
        _in_store("Neo4j", graph_services.delete_edges, report.unsupported_graph_edges)
        _in_store("Neo4j", graph_services.delete_unmentioned_concepts, report.unmentioned_concepts)
    for document, needs_milvus, needs_neo4j in found.to_repair:
        with _locked(document.document_id, started, report) as (go, current):
            if go and current is not None and current.status != Document.Status.DELETING:
                _repair(current, needs_milvus, needs_neo4j, report)
    return report


@contextlib.contextmanager
def _locked(document_id: str, started: datetime, report: ReconcileReport, *, changed_if_present: bool = False):
    """Hold the document's lock; yield (go, its ledger row as it is now, None if there is none).

    go is False when the row was updated after the run started (or exists at all, with
    changed_if_present: the plan found none): another writer acted since the snapshot, so the caller
    does nothing and the id is listed in skipped_changed. Every writer takes this lock, so what the
    body sees cannot change until it is done.
    """
    with contextlib.ExitStack() as held:
        try:
            if not connection.in_atomic_block:
                connection.close_if_unusable_or_obsolete()  # the lock lives in the session: take it on a live one
            held.enter_context(ledger.document_lock(document_id))
            current = Document.objects.filter(document_id=document_id).first()
        except Exception as error:
            raise store_sync.StoreFailure("PostgreSQL", error) from None
        go = current is None or not (changed_if_present or current.updated_at > started)
        if not go:
            report.skipped_changed.append(document_id)
        yield go, current


def _delete_orphan_chunks(document_id: str, chunk_ids: list[str], planned_present: bool, started: datetime,
                          report: ReconcileReport) -> None:
    """Delete Milvus rows of `document_id` that PostgreSQL does not hold, re-checked under its lock.

    Milvus rows carry no timestamp: the chunk ids PostgreSQL holds now decide, and a document that
    appeared after the snapshot (or changed since the run started) keeps all its rows.
    """
    with _locked(document_id, started, report, changed_if_present=not planned_present) as (go, current):
        if not go:
            return
        held = set() if current is None else set(_in_store("PostgreSQL", lambda: list(
            current.chunks.values_list("chunk_id", flat=True))))
        gone = [chunk_id for chunk_id in chunk_ids if chunk_id not in held]
        if gone:
            _in_store("Milvus", vector_services.delete_chunks, gone)


# --- Graph facts: the graph must be a function of the documents present (docs/graph.md) ----------------

def graph_facts(documents: dict[str, Document]) -> ReconcileReport:
    """Only the graph-fact fields, read again (the drift check re-reads them under the namespace's graph lock:
    a graph write running while they were first read can make a supported edge look unsupported)."""
    report = ReconcileReport(dry_run=True)
    _graph_facts(report, documents)
    return report


def _graph_facts(report: ReconcileReport, documents: dict[str, Document]) -> set[str]:
    """Fill the report's graph-fact fields; return the ids of ledger documents whose graph must be rewritten.

    An unsupported edge is deleted whole and every document that mentions both of its concepts is rewritten,
    which restores exactly the supported contributions (a rewrite replaces a document's own share).
    """
    report.unsupported_graph_edges = _in_store("Neo4j", graph_selectors.unsupported_edges)
    report.unmentioned_concepts = _in_store("Neo4j", graph_selectors.unmentioned_concepts)
    stale = set(_in_store("Neo4j", graph_selectors.outdated_document_ids))
    stale |= set(_in_store("Neo4j", graph_selectors.documents_mentioning_all, report.unsupported_graph_edges))
    stale &= {document_id for document_id, document in documents.items()
              if document.status != Document.Status.DELETING}  # orphans are deleted, deletions finished
    report.stale_in_neo4j = sorted(stale)
    return stale


def _repair(document: Document, needs_milvus: bool, needs_neo4j: bool, report: ReconcileReport) -> None:
    """Rewrite the stores the document is missing from, from PostgreSQL, then mark it complete."""
    store = "PostgreSQL"
    try:
        ledger.reopen(document, milvus=needs_milvus, neo4j=needs_neo4j)
        chunks = list(document.chunks.order_by("ordinal"))
        if needs_milvus:
            store = "Milvus"
            store_sync.write_milvus(document, chunks)
            store = "PostgreSQL"
            ledger.mark_in_milvus(document)
        if needs_neo4j:
            store = "Neo4j"
            store_sync.write_neo4j(document, [chunk.text for chunk in chunks])
            store = "PostgreSQL"
            ledger.mark_in_neo4j(document)
        ledger.mark_complete(document)
    except Exception as error:
        reason = f"{store}: {describe_error(error)}"
        report.failed.append({"document_id": document.document_id, "reason": reason})
        try:
            ledger.mark_failed(document, reason)
        except Exception:  # PostgreSQL itself is gone; the row stays pending and the next run retries
            pass
        if isinstance(error, StoreUnavailable):
            raise store_sync.StoreFailure(store, error) from None
        return
    report.repaired.append(document.document_id)

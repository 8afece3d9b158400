"""Compare the three stores with the PostgreSQL ledger (the source of truth) and repair the drift.

Found and repaired, in this order:
- documents left `deleting` by an interrupted deletion: the deletion is finished;
- Milvus rows whose chunk_id is not a PostgreSQL chunk of the same document (orphans): deleted;
- Neo4j Document nodes with no PostgreSQL document: deleted (with concepts only they mentioned);
- documents pending/failed, or missing (some or all chunks) from Milvus or from Neo4j: that store is
  rewritten from PostgreSQL (chunk texts re-embedded, concepts re-extracted) and the document marked
  complete only afterwards.
Idempotent: a second run finds nothing. A store that becomes unreachable stops the run (StoreFailure).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, dataclass, field

from core.retry import StoreUnavailable, describe_error
from graphstore import selectors as graph_selectors
from graphstore import services as graph_services
from ingestion import store_sync
from ingestion.deletion import finish_deletion
from rag_data import ledger
from rag_data.models import Chunk, Document
from vectorstore import selectors as vector_selectors
from vectorstore import services as vector_services


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
    repaired: list[str] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)  # {"document_id", "reason"}

    @property
    def drift_found(self) -> bool:
        return any((self.incomplete, self.missing_in_milvus, self.missing_in_neo4j, self.orphan_milvus_chunks,
                    self.orphan_neo4j_documents, self.interrupted_deletions))

    def as_dict(self) -> dict:
        return {**asdict(self), "drift_found": self.drift_found}


def _in_store(store: str, func, *args):
    try:
        return func(*args)
    except Exception as error:  # stop the run with one line that names the store
        raise store_sync.StoreFailure(store, error) from None


def reconcile(dry_run: bool = False) -> ReconcileReport:
    report = ReconcileReport(dry_run=dry_run)
    if dry_run:  # change nothing: an absent collection just means nothing is in Milvus
        collection = _in_store("Milvus", vector_selectors.collection_exists)
        if collection:
            _in_store("Milvus", vector_services.load_collection)
    else:
        store_sync.prepare_stores()
        collection = True

    documents = {d.document_id: d for d in _in_store("PostgreSQL", lambda: list(Document.objects.all()))}
    pg_chunks: dict[str, set[str]] = defaultdict(set)
    chunk_owner: dict[str, str] = {}
    for document_id, chunk_id in _in_store("PostgreSQL", lambda: list(
            Chunk.objects.values_list("document__document_id", "chunk_id").iterator(chunk_size=5000))):
        pg_chunks[document_id].add(chunk_id)
        chunk_owner[chunk_id] = document_id
    milvus = _in_store("Milvus", vector_selectors.all_chunk_documents) if collection else {}
    graph_documents = set(_in_store("Neo4j", graph_selectors.document_ids))
    report.documents = len(documents)

    in_milvus: dict[str, set[str]] = defaultdict(set)
    for chunk_id, document_id in sorted(milvus.items()):
        if chunk_owner.get(chunk_id) == document_id and document_id in documents:
            in_milvus[document_id].add(chunk_id)
        else:
            report.orphan_milvus_chunks.append(chunk_id)
    report.orphan_neo4j_documents = sorted(graph_documents - set(documents))

    to_repair = []
    for document_id, document in sorted(documents.items()):
        if document.status == Document.Status.DELETING:
            report.interrupted_deletions.append(document_id)
            continue
        needs_milvus = not document.in_milvus or pg_chunks[document_id] != in_milvus[document_id]
        needs_neo4j = not document.in_neo4j or document_id not in graph_documents
        if document.status != Document.Status.COMPLETE:
            report.incomplete.append(document_id)
        if pg_chunks[document_id] != in_milvus[document_id]:
            report.missing_in_milvus.append(document_id)
        if document_id not in graph_documents:
            report.missing_in_neo4j.append(document_id)
        if needs_milvus or needs_neo4j or document.status != Document.Status.COMPLETE or not document.in_postgres:
            to_repair.append((document, needs_milvus, needs_neo4j))
    if dry_run:
        return report

    for document_id in report.interrupted_deletions:
        _in_store("Milvus/Neo4j", finish_deletion, documents[document_id])
    _in_store("Milvus", vector_services.delete_chunks, report.orphan_milvus_chunks)
    for document_id in report.orphan_neo4j_documents:
        _in_store("Neo4j", graph_services.delete_document, document_id)
    for document, needs_milvus, needs_neo4j in to_repair:
        _repair(document, needs_milvus, needs_neo4j, report)
    return report


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

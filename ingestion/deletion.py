"""Remove a document from all three stores, in an order a crash cannot make dishonest.

The ledger row is marked `deleting` first (no longer claimed complete), then Milvus and Neo4j are
cleared, each flag dropped as its store is done, and the PostgreSQL rows (document and chunks, by
cascade) go last. A deletion that dies half-way leaves a `deleting` row, which reconcile finishes.

Like ingest and reconcile, a deletion holds the document's lock (rag_data.ledger.document_lock) from the
moment it re-reads the ledger row until the row is gone, so it never interleaves with another writer of
the same document (docs/concurrency.md).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connection

from graphstore import client as graph_client
from graphstore import services as graph
from ingestion.store_sync import StoreFailure
from rag_data import ledger
from rag_data.models import Document
from vectorstore import services as vectors


class DocumentNotFound(LookupError):
    def __init__(self, document_id: str):
        self.document_id = document_id
        super().__init__(f"no document with id {document_id!r}")


def delete_document(document_id: str) -> dict:
    """Delete `document_id` everywhere; returns what was removed. Unknown id -> DocumentNotFound."""
    document = Document.objects.filter(document_id=document_id).first()
    if document is None:
        raise DocumentNotFound(document_id)
    # Reach both stores before touching the ledger; Milvus Lite serves deletes only on a loaded collection.
    for store, step in (("Milvus", vectors.ensure_collection), ("Neo4j", graph_client.get_driver)):
        try:
            step()
        except Exception as error:
            raise StoreFailure(store, error) from None
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()  # the lock lives in the session: start on a live one
    with ledger.document_lock(document_id):
        document = Document.objects.filter(document_id=document_id).first()  # as it is now, under the lock
        if document is None:  # another deletion got there first
            raise DocumentNotFound(document_id)
        return finish_deletion(document)


def finish_deletion(document: Document) -> dict:
    """Carry out (or resume) the deletion of a ledger row; the stores' deletes are idempotent.

    The caller holds the document's lock and has just re-read `document` under it.
    """
    ledger.mark_deleting(document)
    milvus_deleted = vectors.delete_document_chunks([document.document_id])
    ledger.mark_gone_from(document, milvus=True)
    with ledger.graph_lock(settings.RAG_NAMESPACE):
        graph_result = graph.delete_document(document.document_id)
    ledger.mark_gone_from(document, neo4j=True)
    chunks = document.chunks.count()
    document.delete()
    return {
        "document_id": document.document_id,
        "postgres_chunks_deleted": chunks,
        "milvus_chunks_deleted": milvus_deleted,
        "neo4j_deleted": graph_result["deleted"],
        "concepts_removed": graph_result["concepts_removed"],
    }

"""Write one document's Milvus rows and graph from what PostgreSQL holds: shared by ingest and reconcile.

Both derive everything from the chunk texts (vectors from the embedder, concepts from the reassembled
text, RELATED_TO weights from co-occurrence in chunks), so a store rebuilt by reconcile matches what
ingest wrote, as long as the embedder and extractor are deterministic (the offline ones are).

The graph is written in the deployment's namespace (settings.RAG_NAMESPACE), one managed transaction per
group (a document alone is a group of one) that replaces exactly each document's contribution (its mentions, and its share of each RELATED_TO
edge's weight): see docs/graph.md.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.conf import settings
from django.db import connection

from core.retry import StoreUnavailable, call_with_retry, describe_error
from graphstore import services as graph
from ingestion.chunking import reassemble
from rag_data.chunk_metadata import chunk_metadata, extension  # noqa: F401 (extension: bench.raw)
from rag_data import ledger
from rag_data.models import Document
from textmodels import passages
from textmodels.embedders import get_embedder
from textmodels.extractors import co_occurrence, get_extractor
from vectorstore import services as vectorstore

MILVUS_BATCH = 256  # rows per upsert of one document (reconcile, reembed)
MILVUS_MESSAGE_BYTES = 32 * 1024 * 1024  # a group's upsert is cut to stay well under the server's 64 MiB gRPC limit


class StoreFailure(Exception):
    """A store is unreachable or refuses to be prepared; the one-line message names it, no secrets."""

    def __init__(self, store: str, error: BaseException):
        self.store = store
        text = str(error) if isinstance(error, StoreUnavailable) else f"{store}: {describe_error(error)}"
        super().__init__(" ".join(text.split()))


def prepare_stores() -> None:
    """Reach all three stores before writing anything: the PostgreSQL connection; the collection
    created if missing and loaded (Milvus Lite must load it in every process), and not of an older schema
    (vectorstore.services.check_writable); the graph constraints (MERGE on an unindexed property would
    scan every node)."""

    def milvus() -> None:
        vectorstore.ensure_collection()
        vectorstore.check_writable()

    for store, step in (("PostgreSQL", lambda: call_with_retry("PostgreSQL", connection.ensure_connection)),
                        ("Milvus", milvus), ("Neo4j", graph.install_constraints)):
        try:
            step()
        except Exception as error:  # whatever the driver raised: one line naming the store
            raise StoreFailure(store, error) from None


def milvus_rows(document: Document, chunks: Sequence, vectors: Sequence[Sequence[float]]) -> list[dict]:
    """Rows for vectorstore.upsert_chunks; `chunks` have chunk_id, ordinal and text (models or ChunkRows).

    Only what filtering and ranking need: ids, the vector and metadata (source, title, ordinal, ext, and
    `page` for a PDF chunk, read from its chunk id). The text stays in PostgreSQL, where search reads it.
    """
    return [{"chunk_id": chunk.chunk_id, "document_id": document.document_id, "embedding": list(vector),
             "metadata": chunk_metadata(document.source_path, document.title, chunk.ordinal, chunk.chunk_id)}
            for chunk, vector in zip(chunks, vectors, strict=True)]


def embedding_text(chunk) -> str:
    """What is embedded for a chunk (a ledger.ChunkRow or a Chunk): its context line, then its text."""
    return passages.embedding_text(getattr(chunk, "context", ""), chunk.text)


def embed(texts: Sequence[str]) -> list[list[float]]:
    """Vectors for many texts; the embedder sends them in EMBEDDER_BATCH_SIZE batches."""
    return get_embedder().embed(list(texts)) if texts else []


def write_milvus(document: Document, chunks: Sequence, vectors: Sequence[Sequence[float]] | None = None,
                 stale_chunk_ids: Sequence[str] | None = None) -> int:
    """Replace the document's rows, then upsert the current ones in batches.

    With `stale_chunk_ids` (the ids PostgreSQL held before, when it was complete) only those that are
    gone are deleted, by primary key; without, every row of the document is deleted by expression,
    which is thorough but costs a few hundred milliseconds on a standalone server.
    """
    if vectors is None:
        vectors = embed([embedding_text(chunk) for chunk in chunks])
    rows = milvus_rows(document, chunks, vectors)
    if stale_chunk_ids is None:
        vectorstore.delete_document_chunks([document.document_id])
    else:
        gone = set(stale_chunk_ids) - {row["chunk_id"] for row in rows}
        if gone:
            vectorstore.delete_chunks(gone)
    return vectorstore.upsert_chunks(rows, batch_size=MILVUS_BATCH)


def rows_per_message(rows: Sequence[dict]) -> int:
    """Rows per upsert call so that one call's message stays under MILVUS_MESSAGE_BYTES (vectors as float32,
    ids and metadata as text, each with some framing), at least 1."""
    if not rows:
        return 1
    sample = rows[: min(len(rows), 64)]
    per_row = max(len(row["embedding"]) * 4 + len(row["chunk_id"]) + len(row["document_id"])
                  + len(str(row["metadata"])) + 64 for row in sample)
    return max(1, MILVUS_MESSAGE_BYTES // per_row)


def write_milvus_group(items: Sequence[tuple[Document, Sequence, Sequence[Sequence[float]], Sequence[str] | None]]) -> int:
    """write_milvus for a group of (document, chunks, vectors, stale chunk ids or None): one delete of the
    gone rows by key, one delete by expression for the documents whose rows are not known exactly, then one
    upsert of all the group's rows (cut only at the message limit)."""
    rows, gone, unknown = [], set(), []
    for document, chunks, vectors, stale in items:
        document_rows = milvus_rows(document, chunks, vectors)
        rows.extend(document_rows)
        if stale is None:
            unknown.append(document.document_id)
        else:
            gone |= set(stale) - {row["chunk_id"] for row in document_rows}
    if unknown:
        vectorstore.delete_document_chunks(unknown)
    if gone:
        vectorstore.delete_chunks(sorted(gone))
    return vectorstore.upsert_chunks(rows, batch_size=rows_per_message(rows))


def write_neo4j_group(items: Sequence[tuple[Document, tuple[dict[str, int], list[tuple[str, str, int]]]]]) -> int:
    """write_neo4j for a group of (document, (concepts, pairs)): one transaction under the namespace's graph
    lock, taken once for the group (graphstore.services.write_documents)."""
    documents = [{"document_id": d.document_id, "title": d.title, "source": d.source_path,
                  "content_hash": d.content_hash, "concepts": found, "pairs": pairs}
                 for d, (found, pairs) in items]
    with ledger.graph_lock(settings.RAG_NAMESPACE):
        return graph.write_documents(documents)["mentions"]


def concepts(chunk_texts: Sequence[str]) -> tuple[dict[str, int], list[tuple[str, str, int]]]:
    """({concept: count}, [(a, b, weight)]) for a document given its chunk texts in order."""
    found = get_extractor().extract(reassemble(list(chunk_texts)))
    return found, co_occurrence(sorted(found), chunk_texts)


def write_neo4j(document: Document, chunk_texts: Sequence[str], extracted=None) -> int:
    """Replace the document's part of the graph in one transaction (write_neo4j_group for one document): its
    node, its mentions (concepts only it mentioned and no longer does are removed) and its co-occurrence
    contributions to RELATED_TO edges. Returns the mentions written."""
    return write_neo4j_group([(document, extracted if extracted is not None else concepts(chunk_texts))])

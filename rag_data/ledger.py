"""Status transitions of the ingestion ledger (Document rows), the only code that changes them.

The order is what keeps the ledger honest after a crash at any point:
pending (PostgreSQL rows written, in_postgres) -> in_milvus -> in_neo4j -> complete, each flag set by an
UPDATE after its store write succeeded (for a group of documents: begin_group, then, since ingestion writes
Milvus and Neo4j at the same time, one record_group setting both flags and the status). `complete` is set
last, and the database refuses it unless all three flags are true; any rewrite first drops the document
back to pending. A deletion first records `deleting`, so an interrupted one is finished by reconcile. The
writers' locks are in rag_data.locks (their names are kept here for the callers that use them through the
ledger).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from core.retry import describe_error
# The writers' locks, for the callers (ingestion, bench) that take them through the ledger.
from rag_data.locks import (  # noqa: F401
    LocksBusy, document_lock, documents_lock, graph_lock, held_document_locks,
)
from rag_data.models import Chunk, Document

Status = Document.Status
_BULK_BATCH = 1000


@dataclass(frozen=True)
class ChunkRow:
    chunk_id: str
    ordinal: int
    text: str
    content_hash: str
    context: str = ""  # the document title and section headings (Chunk.context)


def begin(*, document_id: str, source_path: str, title: str, content_hash: str,
          chunks: Sequence[ChunkRow], metadata: dict | None = None) -> tuple[Document, bool]:
    """One transaction: upsert the Document as pending (only in PostgreSQL) and replace its chunks.

    Returns (document, created).
    """
    with transaction.atomic():
        document, created = Document.objects.select_for_update().update_or_create(
            document_id=document_id,
            defaults={
                "source_path": source_path[:1024], "title": title[:512], "content_hash": content_hash,
                "status": Status.PENDING, "in_postgres": False, "in_milvus": False, "in_neo4j": False,
                "last_error": "", "metadata": metadata or {},
            },
        )
        Chunk.objects.filter(document=document).delete()
        Chunk.objects.bulk_create(
            [Chunk(chunk_id=c.chunk_id, document=document, ordinal=c.ordinal, text=c.text,
                   content_hash=c.content_hash, context=c.context) for c in chunks],
            batch_size=_BULK_BATCH,
        )
        _update(document, in_postgres=True)
    return document, created


@dataclass(frozen=True)
class GroupEntry:
    """One document of a group written by begin_group."""
    document_id: str
    source_path: str
    title: str
    content_hash: str
    chunks: Sequence[ChunkRow]
    metadata: dict | None = None  # an upload's metadata ({} for a file)


def begin_group(entries: Sequence[GroupEntry]) -> list[tuple[Document, bool]]:
    """begin() for many documents in one transaction: their rows upserted as pending (only in PostgreSQL),
    their old chunks deleted and the new ones written with one COPY. Returns [(document, created)] in order.
    """
    if not entries:
        return []
    ids = [entry.document_id for entry in entries]
    fields = {"status": Status.PENDING, "in_postgres": True, "in_milvus": False, "in_neo4j": False,
              "last_error": ""}
    with transaction.atomic():
        existing = {d.document_id: d for d in Document.objects.select_for_update().filter(document_id__in=ids)}
        now = timezone.now()
        documents, fresh = [], []
        for entry in entries:
            document = existing.get(entry.document_id) or Document(document_id=entry.document_id, created_at=now)
            document.source_path, document.title = entry.source_path[:1024], entry.title[:512]
            document.content_hash, document.updated_at = entry.content_hash, now
            document.metadata = entry.metadata or {}
            for name, value in fields.items():
                setattr(document, name, value)
            documents.append(document)
            if entry.document_id not in existing:
                fresh.append(document)
        if existing:
            Document.objects.bulk_update(list(existing.values()), ["source_path", "title", "content_hash",
                                                                   "metadata", "updated_at", *fields])
            Chunk.objects.filter(document__in=[d.pk for d in existing.values()]).delete()
        if fresh:
            Document.objects.bulk_create(fresh, batch_size=_BULK_BATCH)
        _copy_chunks((document.pk, chunk) for document, entry in zip(documents, entries) for chunk in entry.chunks)
    return [(document, entry.document_id not in existing) for document, entry in zip(documents, entries)]


def _copy_chunks(rows: Iterable[tuple[int, ChunkRow]]) -> None:
    """COPY the chunk rows (one round trip per ~8 KB of data instead of one statement per batch)."""
    table, meta = Chunk._meta.db_table, Chunk._meta
    columns = ", ".join(connection.ops.quote_name(meta.get_field(name).column)
                        for name in ("chunk_id", "document", "ordinal", "text", "content_hash", "context"))
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {connection.ops.quote_name(table)} ({columns}) FROM STDIN") as copy:
            for pk, chunk in rows:
                copy.write_row((chunk.chunk_id, pk, chunk.ordinal, chunk.text, chunk.content_hash, chunk.context))


def mark_group(documents: Sequence[Document], **fields) -> None:
    """One UPDATE setting the same fields on many documents (a group's step), mirrored on the instances."""
    if not documents:
        return
    fields["updated_at"] = timezone.now()
    Document.objects.filter(pk__in=[d.pk for d in documents]).update(**fields)
    for document in documents:
        for name, value in fields.items():
            setattr(document, name, value)


def record_group(documents: Sequence[Document], *, milvus: bool, neo4j: bool,
                 error: BaseException | str | None = None) -> None:
    """A group's outcome once its Milvus and Neo4j writes (run at the same time) are over, in one UPDATE: the
    flag of each store written, and complete (only when both were written and nothing failed) or failed with
    the one-line reason. The database still refuses `complete` unless all three flags are set."""
    fields = {name: True for name, written in (("in_milvus", milvus), ("in_neo4j", neo4j)) if written}
    if error is None and milvus and neo4j:
        fields.update(status=Status.COMPLETE, last_error="")
    else:
        fields.update(status=Status.FAILED, last_error=_reason(error or "not written to every store"))
    mark_group(documents, **fields)


def reopen(document: Document, *, milvus: bool = False, neo4j: bool = False) -> None:
    """Before rewriting a store from PostgreSQL: pending, and that store's flag cleared."""
    _update(document, status=Status.PENDING, in_postgres=True, **_cleared_flags(milvus=milvus, neo4j=neo4j))


def mark_in_milvus(document: Document) -> None:
    _update(document, in_milvus=True)


def mark_in_neo4j(document: Document) -> None:
    _update(document, in_neo4j=True)


def mark_complete(document: Document) -> None:
    """Complete, error cleared; the CHECK constraint refuses it unless all three flags are set."""
    _update(document, status=Status.COMPLETE, last_error="")


def mark_failed(document: Document, error: BaseException | str) -> None:
    """Failed, with a redacted one-line reason; the flags keep saying which stores were written."""
    _update(document, status=Status.FAILED, last_error=_reason(error))


def _reason(error: BaseException | str) -> str:
    """The one-line reason a failed document records (an exception described without secrets)."""
    reason = error if isinstance(error, str) else describe_error(error)
    return " ".join(reason.split())[:2000]


def mark_deleting(document: Document) -> None:
    _update(document, status=Status.DELETING)


def mark_gone_from(document: Document, *, milvus: bool = False, neo4j: bool = False) -> None:
    """The document's rows are no longer in those stores (a delete or a repair removed them)."""
    _update(document, **_cleared_flags(milvus=milvus, neo4j=neo4j))


def _cleared_flags(*, milvus: bool, neo4j: bool) -> dict[str, bool]:
    """The in_<store> fields to set False for the stores named."""
    return {name: False for name, chosen in (("in_milvus", milvus), ("in_neo4j", neo4j)) if chosen}


def _update(document: Document, **fields) -> None:
    """A single-row UPDATE (no read-modify-write of the whole row), mirrored on the instance."""
    fields["updated_at"] = timezone.now()
    Document.objects.filter(pk=document.pk).update(**fields)
    for name, value in fields.items():
        setattr(document, name, value)

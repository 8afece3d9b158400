"""Ingest text and Markdown files into the three stores, idempotently, one ledgered document at a time.

Per file: read and validate (bad files are skipped with a reason), hash, chunk; unchanged content
(same hash, same chunk ids, status complete) writes nothing. Otherwise, with vectors and concepts
computed before any write: PostgreSQL (document pending + chunks, one transaction) -> Milvus (old rows
deleted, new ones upserted in batches) -> Neo4j -> complete. A failure marks the document failed and the
batch goes on; after OUTAGE_LIMIT consecutive failures because one store is unreachable, the remaining
files are not attempted (they would each wait out the store's timeout), and are reported failed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import DatabaseError, connection

from core.retry import StoreUnavailable, describe_error, is_transient
from ingestion import store_sync
from rag_data import ledger
from ingestion.chunking import check_parameters, chunk_text
from rag_data.models import Chunk, Document

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".rst"})
OUTAGE_LIMIT = 3
_SLUG = re.compile(r"[^a-z0-9]+")
_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,17})$")
_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(\S.*?)[ \t]*#*[ \t]*$", re.MULTILINE)


class Skip(Exception):
    """The file is not ingestible; the message is the reason shown to the user."""


class StepFailed(Exception):
    def __init__(self, store: str, error: BaseException):
        self.store, self.error = store, error
        super().__init__(f"{store}: {describe_error(error)}")


@dataclass(frozen=True)
class SourceFile:
    path: Path
    relative: str
    document_id: str


@dataclass
class IngestReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)  # {"path", "reason"}
    failed: list[dict] = field(default_factory=list)  # {"path", "document_id", "reason"}

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in ("created", "updated", "unchanged", "skipped", "failed")}

    def as_dict(self) -> dict:
        return {"counts": self.counts(), **asdict(self)}


def slugify(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def document_id_for(relative: str, id_prefix: str = "") -> str:
    """Slug of the relative path (<= 100 chars) + '-' + 8 hex of its sha256, after 'PREFIX-' if given."""
    digest = hashlib.sha256(relative.encode("utf-8")).hexdigest()[:8]
    slug = slugify(relative)[:100].strip("-") or "document"
    return f"{id_prefix}-{slug}-{digest}" if id_prefix else f"{slug}-{digest}"


def chunk_id_for(document_id: str, ordinal: int, text: str) -> str:
    return (f"{hashlib.sha256(document_id.encode()).hexdigest()[:16]}-{ordinal:05d}-"
            f"{hashlib.sha256(text.encode()).hexdigest()[:16]}")


def check_prefix(id_prefix: str) -> str:
    if id_prefix and not _PREFIX.match(id_prefix):
        raise ValueError(f"id prefix {id_prefix!r} must be 1-18 characters of a-z, 0-9 and '-', "
                         "starting with a letter or digit")
    return id_prefix


def discover(paths: Iterable[str | os.PathLike], id_prefix: str = "") -> tuple[list[SourceFile], list[dict]]:
    """Files to ingest (sorted, deterministic) and the ones skipped while walking, with reasons.

    In a directory only .txt/.md/.markdown/.rst are taken and hidden files and directories are passed
    over silently; a file named explicitly is read as text whatever its extension.
    """
    check_prefix(id_prefix)
    found: list[SourceFile] = []
    skipped: list[dict] = []
    seen: dict[str, str] = {}

    def add(path: Path, relative: str) -> None:
        document_id = document_id_for(relative, id_prefix)
        if document_id in seen:
            skipped.append({"path": str(path), "reason": f"same document id as {seen[document_id]} "
                                                          "(rename it or ingest it with another --id-prefix)"})
            return
        seen[document_id] = str(path)
        found.append(SourceFile(path, relative, document_id))

    for raw in paths:
        root = Path(raw)
        if root.is_file():
            add(root, root.name)
        elif root.is_dir():
            for directory, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    path = Path(directory, name)
                    if name.startswith("."):
                        continue
                    if path.suffix.lower() not in TEXT_EXTENSIONS:
                        skipped.append({"path": str(path), "reason": f"unsupported extension "
                                                                      f"{path.suffix or '(none)'}"})
                        continue
                    add(path, path.relative_to(root).as_posix())
        else:
            skipped.append({"path": str(root), "reason": "no such file or directory"})
    return found, skipped


def read_text(path: Path, max_bytes: int) -> tuple[str, str]:
    """(text, sha256 of the bytes), or Skip with the reason the file cannot be ingested."""
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise Skip(f"too large ({size} bytes > INGEST_MAX_FILE_BYTES={max_bytes})")
        data = path.read_bytes()
    except OSError as error:
        raise Skip(f"cannot be read ({describe_error(error)})") from None
    if len(data) > max_bytes:
        raise Skip(f"too large ({len(data)} bytes > INGEST_MAX_FILE_BYTES={max_bytes})")
    if not data:
        raise Skip("empty file")
    if b"\x00" in data:
        raise Skip("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise Skip(f"not UTF-8 text (invalid byte at offset {error.start})") from None
    if not text.strip():
        raise Skip("empty file (whitespace only)")
    return text, hashlib.sha256(data).hexdigest()


def title_for(text: str, relative: str, markdown: bool) -> str:
    if markdown and (match := _MD_HEADING.search(text)):
        return match.group(1)[:512]
    for line in text.splitlines():
        line = line.strip()
        if any(ch.isalnum() for ch in line):
            return line[:200]
    return Path(relative).stem[:512]


def ingest_paths(paths, *, id_prefix: str = "", progress: Callable[[int, int, str], None] | None = None,
                 chunk_size: int | None = None, chunk_overlap: int | None = None) -> IngestReport:
    """Ingest files and directories; see the module docstring. Unreachable stores at the start raise
    store_sync.StoreFailure before anything is written."""
    size = settings.CHUNK_SIZE if chunk_size is None else chunk_size
    overlap = settings.CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap
    check_parameters(size, overlap)
    sources, skipped = discover(paths, id_prefix)
    report = IngestReport(skipped=skipped)
    store_sync.prepare_stores()
    outages: list[str] = []
    for done, source in enumerate(sources, start=1):
        if len(outages) >= OUTAGE_LIMIT and len(set(outages[-OUTAGE_LIMIT:])) == 1:
            report.failed.append({"path": str(source.path), "document_id": source.document_id,
                                  "reason": f"not attempted: {outages[-1]} unreachable "
                                            f"({OUTAGE_LIMIT} files in a row failed on it)"})
        else:
            outage = _ingest_locked(source, size, overlap, report)
            outages = outages + [outage] if outage else []
        if progress is not None:
            progress(done, len(sources), str(source.path))
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
                              "reason": f"PostgreSQL: {describe_error(error)}"})
        return "PostgreSQL"


def _ingest_one(source: SourceFile, size: int, overlap: int, report: IngestReport) -> str | None:
    """Ingest one file into `report`; returns the store's name when it failed because that store is down."""
    try:
        text, content_hash = read_text(source.path, settings.INGEST_MAX_FILE_BYTES)
    except Skip as reason:
        report.skipped.append({"path": str(source.path), "reason": str(reason)})
        return None
    markdown = store_sync.extension(source.relative) == "md"
    pieces = chunk_text(text, size, overlap, markdown=markdown)
    rows = [ledger.ChunkRow(chunk_id_for(source.document_id, n, piece.text), n, piece.text,
                            hashlib.sha256(piece.text.encode()).hexdigest()) for n, piece in enumerate(pieces)]
    document, begun = None, False
    try:
        document = _step("PostgreSQL", lambda: Document.objects.filter(document_id=source.document_id).first())
        if document is not None and _unchanged(document, content_hash, rows):
            report.unchanged.append(source.document_id)
            return None
        stale = _stale_chunk_ids(document)
        texts = [row.text for row in rows]
        vectors = _step("Embedder", store_sync.embed, texts)
        extracted = _step("Extractor", store_sync.concepts, texts)
        document, created = _step("PostgreSQL", ledger.begin, document_id=source.document_id,
                                  source_path=source.relative, title=title_for(text, source.relative, markdown),
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
        report.failed.append({"path": str(source.path), "document_id": source.document_id, "reason": reason})
        down = isinstance(failure.error, StoreUnavailable) or is_transient(failure.error)
        return failure.store if down else None
    (report.created if created else report.updated).append(source.document_id)
    return None


def _stale_chunk_ids(document: Document | None) -> list[str] | None:
    """Chunk ids Milvus may hold for the document: known exactly only when it was complete."""
    if document is None:
        return []
    if document.status != Document.Status.COMPLETE:
        return None  # an interrupted write may have left other rows: delete by document
    return _step("PostgreSQL", lambda: list(Chunk.objects.filter(document=document)
                                            .values_list("chunk_id", flat=True)))


def _unchanged(document: Document, content_hash: str, rows: list[ledger.ChunkRow]) -> bool:
    if document.content_hash != content_hash or document.status != Document.Status.COMPLETE:
        return False
    stored = list(Chunk.objects.filter(document=document).order_by("ordinal").values_list("chunk_id", flat=True))
    return stored == [row.chunk_id for row in rows]  # other chunking parameters -> rewrite


def _step(store: str, func, *args, **kwargs):
    try:
        return func(*args, **kwargs)
    except Exception as error:  # any failure of one file's step; the batch goes on
        raise StepFailed(store, error) from error

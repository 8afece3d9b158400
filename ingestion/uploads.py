"""Documents that arrive as bytes (an upload over HTTP, a job's payload) rather than as files on this machine.

`check_upload` decides, before anything is stored, whether bytes can become a document: not empty, at most
`max_bytes`, a supported format (by the name's extension, else by the content type), decodable (text and
HTML are extracted in full; a PDF must open and have pages: whether it has a text layer is found when it is
ingested), and a valid document id. It returns the upload's identity; `ingest_upload` then runs the same
pipeline as `manage.py ingest` (ingestion.services.ingest_sources) on it, under the document's lock.

Identity. An upload's source path is `upload://NAME` (NAME: the base name it was sent under), which no
file's source path can equal (ingestion/sources.py). Its document id is the one the caller gives, else
`upload-` + the first 32 hex digits of the SHA-256 of its bytes: the same bytes sent twice are one document
(a client retrying a POST does not duplicate it), different bytes are different documents (2^128 ids), and
no file's id (`slug-` + 8 hex) can take that form. An upload may replace an earlier upload of the same id
(another name, other bytes); it never replaces a document ingested from a file (refused, nothing written).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings

from ingestion.formats import PDF_EXTENSIONS, SUPPORTED_EXTENSIONS, Skip, extract
from ingestion.services import IngestReport, ingest_sources
from ingestion.sources import UPLOAD_SCHEME, SourceFile
from rag_data.models import IDENTIFIER, IDENTIFIER_MAX

# Content types and the extension (so the format) they stand for; a generic type defers to the name.
CONTENT_TYPES = {
    "text/plain": ".txt", "text/markdown": ".md", "text/x-markdown": ".md", "text/x-rst": ".rst",
    "text/prs.fallenstein.rst": ".rst", "text/html": ".html", "application/xhtml+xml": ".xhtml",
    "application/pdf": ".pdf",
}
GENERIC_CONTENT_TYPES = frozenset({"", "application/octet-stream", "binary/octet-stream"})
_KIND = {".txt": "text", ".rst": "text", ".md": "text", ".markdown": "text", ".html": "html", ".htm": "html",
         ".xhtml": "html", ".pdf": "pdf"}
_IDENTIFIER = re.compile(IDENTIFIER)
NAME_MAX = 200
TITLE_MAX = 512


class Unusable(ValueError):
    """The bytes cannot become a document; the message is one line for the sender."""


@dataclass(frozen=True)
class CheckedUpload:
    document_id: str
    name: str  # the base name, with a supported extension
    source_path: str  # upload://NAME


def upload_id_for(data: bytes) -> str:
    return "upload-" + hashlib.sha256(data).hexdigest()[:32]


def check_document_id(document_id: str) -> str:
    if not document_id or len(document_id) > IDENTIFIER_MAX or not _IDENTIFIER.match(document_id):
        raise Unusable(f"document id must be 1-{IDENTIFIER_MAX} characters of letters, digits, '.', '_', ':' or "
                       "'-', starting with a letter or digit")
    return document_id


def upload_name(name: str, content_type: str | None) -> str:
    """The base name with a supported extension: the name's own, else the one the content type stands for."""
    base = PurePosixPath((name or "").replace("\\", "/")).name.strip()
    base = "".join(ch for ch in base if ch.isprintable())[:NAME_MAX] or "document"
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in GENERIC_CONTENT_TYPES and media not in CONTENT_TYPES:
        raise Unusable(f"unsupported content type {media!r} (send text, Markdown, reStructuredText, HTML or PDF)")
    suffix = PurePosixPath(base).suffix.lower()
    if suffix in SUPPORTED_EXTENSIONS:
        expected = CONTENT_TYPES.get(media)
        if expected is not None and _KIND[expected] != _KIND[suffix]:
            raise Unusable(f"content type {media} does not match the name {base!r}")
        return base
    if media in CONTENT_TYPES:
        return base + CONTENT_TYPES[media]
    raise Unusable(f"unsupported format: {base!r} has no supported extension "
                   f"({', '.join(sorted(SUPPORTED_EXTENSIONS))}) and no content type says what it is")


def check_upload(*, name: str, data: bytes, content_type: str | None = None, document_id: str | None = None,
                 max_bytes: int | None = None) -> CheckedUpload:
    """The upload's identity, or Unusable with the reason it cannot be ingested (nothing is stored here)."""
    limit = settings.INGEST_MAX_FILE_BYTES if max_bytes is None else max_bytes
    if not isinstance(data, (bytes, bytearray)):
        raise Unusable("the document must be bytes")
    if not data:
        raise Unusable("empty document")
    if len(data) > limit:
        raise Unusable(f"document too large ({len(data)} bytes > {limit})")
    final_name = upload_name(name, content_type)
    final_id = check_document_id(document_id) if document_id else upload_id_for(bytes(data))
    try:
        if PurePosixPath(final_name).suffix.lower() in PDF_EXTENSIONS:
            _check_pdf(bytes(data))
        else:
            extract(bytes(data), final_name)
    except Skip as reason:
        raise Unusable(str(reason)) from None
    return CheckedUpload(final_id, final_name, UPLOAD_SCHEME + final_name)


def _check_pdf(data: bytes) -> None:
    """Opens and has pages (text extraction waits for the ingest: it is the slow part)."""
    from pypdf import PdfReader

    if data.lstrip()[:5] != b"%PDF-":
        raise Skip("not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise Skip("encrypted PDF (it needs a password)")
        pages = len(reader.pages)
    except Skip:
        raise
    except Exception as error:  # pypdf raises many types for damaged files
        raise Skip(f"PDF could not be read ({type(error).__name__})") from None
    if not pages:
        raise Skip("PDF has no pages")


def title_from(metadata: Mapping | None) -> str:
    title = (metadata or {}).get("title")
    if title is None:
        return ""
    if not isinstance(title, str):
        raise Unusable("metadata title must be a string")
    return " ".join(title.split())[:TITLE_MAX]


def ingest_upload(*, document_id: str, name: str, data: bytes, metadata: Mapping | None = None,
                  content_type: str | None = None, source_path: str | None = None, chunk_size: int | None = None,
                  chunk_overlap: int | None = None) -> IngestReport:
    """Ingest one upload into the three stores, like one file of `manage.py ingest` (idempotent: the same
    bytes, name and metadata again write nothing). `metadata["title"]`, when given, is the document's title;
    the other keys are kept in the ledger (Document.metadata).

    Unusable input (check_upload) raises Unusable; a store failure is a `failed` row of the report, whose
    `transient` says whether retrying may cure it. Unreachable stores at the start raise StoreFailure.
    With `source_path` (a file's bytes read by `ingest --enqueue`: its id and source path from discover) the
    bytes are ingested exactly as that file would be, unusable content being a `skipped` row."""
    title = title_from(metadata)
    kept = {key: value for key, value in (metadata or {}).items() if key != "title"}  # the rest: Document.metadata
    if source_path is None:
        checked = check_upload(name=name, data=data, content_type=content_type, document_id=document_id)
        source = SourceFile(Path(checked.name), checked.source_path, checked.document_id, data=bytes(data),
                            title=title, metadata=kept)
    else:
        source = SourceFile(Path(name), source_path, check_document_id(document_id), data=bytes(data), title=title,
                            metadata=kept)
    return ingest_sources([source], chunk_size=chunk_size, chunk_overlap=chunk_overlap)

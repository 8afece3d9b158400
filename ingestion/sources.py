"""Which files an ingest takes, what each is called (its source path and ids), and how it is read and chunked.

Identity. Every file gets a *source path*, stored as Document.source_path, from which its document id is
made: `[PREFIX-]` + the slug of the source path (at most 100 characters) + `-` + 8 hex digits of the
SHA-256 of the source path. The source path is the file's path inside a *namespace*:

- without `--id-prefix`, the namespace is the name of the directory given (`ingest kb/` ->
  `kb/sub/guide.md`), or for a file given by name the name of the directory it is in
  (`ingest a/notes.txt` -> `a/notes.txt`, `ingest b/notes.txt` -> `b/notes.txt`: two documents);
- with `--id-prefix P`, the prefix is the namespace and the source path is relative to the directory
  given (`ingest corpora/django --id-prefix django` -> `topics/db/queries.txt`, id `django-topics-...`), or
  the bare file name for a file given by name.

So the same tree ingested again with the same command keeps its ids, from any working directory (names
are taken from the resolved paths), and two files in different directories differ. Two inputs of one run
that would share an id are refused with a reason (discover); so is a file whose id the ledger already
holds for another source path (ingestion.services: never overwritten silently).

Chunk ids are `sha256(document id)[:16]-<ordinal:05d>-sha256(chunk text)[:16]`, plus `-p<page>` for a
chunk of a PDF page: the page number lives in the id, which PostgreSQL stores, so Milvus metadata rebuilt
from PostgreSQL (reconcile, reembed) carries the same page as ingest wrote (`page_of`, rag_data.chunk_metadata).
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from core.retry import describe_error
from ingestion.chunking import Chunk, chunk_pages, chunk_text
from ingestion.formats import SUPPORTED_EXTENSIONS, Extracted, Skip, extract
from rag_data.chunk_metadata import page_of  # noqa: F401 (the chunk id's page: defined with the metadata)

_SLUG = re.compile(r"[^a-z0-9]+")
_PREFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,17})$")
UPLOAD_SCHEME = "upload://"


@dataclass(frozen=True)
class SourceFile:
    path: Path
    relative: str  # the source path (see the module docstring), stored as Document.source_path
    document_id: str
    # An upload (ingestion/uploads.py) carries its bytes and may name its title; a file is read from `path`.
    data: bytes | None = field(default=None, repr=False, compare=False)
    title: str = ""
    metadata: dict | None = field(default=None, compare=False)  # an upload's metadata (Document.metadata)


def slugify(text: str) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")


def document_id_for(relative: str, id_prefix: str = "") -> str:
    """Slug of the source path (<= 100 chars) + '-' + 8 hex of its sha256, after 'PREFIX-' if given."""
    digest = hashlib.sha256(relative.encode("utf-8")).hexdigest()[:8]
    slug = slugify(relative)[:100].strip("-") or "document"
    return f"{id_prefix}-{slug}-{digest}" if id_prefix else f"{slug}-{digest}"


def is_upload_path(source_path: str) -> bool:
    """An upload's source path (`upload://NAME`, ingestion/uploads.py): no file's can look like it (a directory
    name holds no '/', and a path inside one never starts with '/')."""
    return source_path.startswith(UPLOAD_SCHEME)


def chunk_id_for(document_id: str, ordinal: int, text: str, page: int | None = None) -> str:
    chunk_id = (f"{hashlib.sha256(document_id.encode()).hexdigest()[:16]}-{ordinal:05d}-"
                f"{hashlib.sha256(text.encode()).hexdigest()[:16]}")
    return f"{chunk_id}-p{page}" if page is not None else chunk_id


def check_prefix(id_prefix: str) -> str:
    if id_prefix and not _PREFIX.match(id_prefix):
        raise ValueError(f"id prefix {id_prefix!r} must be 1-18 characters of a-z, 0-9 and '-', "
                         "starting with a letter or digit")
    return id_prefix


def _namespace(directory: Path, id_prefix: str) -> str:
    """'' with a prefix (the prefix is the namespace), else the directory's own name."""
    if id_prefix:
        return ""
    try:
        return directory.resolve().name
    except OSError:
        return directory.absolute().name


def _join(namespace: str, inside: str) -> str:
    return f"{namespace}/{inside}" if namespace else inside


def discover(paths: Iterable[str | os.PathLike], id_prefix: str = "") -> tuple[list[SourceFile], list[dict]]:
    """Files to ingest (sorted, deterministic) and the ones skipped while walking, with reasons.

    In a directory only the supported extensions (formats.SUPPORTED_EXTENSIONS) are taken and hidden files
    and directories are passed over silently; a file named explicitly is read by its extension, as text
    when the extension is not HTML or PDF.
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
            add(root, _join(_namespace(root.parent, id_prefix), root.name))
        elif root.is_dir():
            namespace = _namespace(root, id_prefix)
            for directory, dirnames, filenames in os.walk(root):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    path = Path(directory, name)
                    if name.startswith("."):
                        continue
                    if path.suffix.lower() not in SUPPORTED_EXTENSIONS:
                        skipped.append({"path": str(path), "reason": f"unsupported extension "
                                                                      f"{path.suffix or '(none)'}"})
                        continue
                    add(path, _join(namespace, path.relative_to(root).as_posix()))
        else:
            skipped.append({"path": str(root), "reason": "no such file or directory"})
    return found, skipped


def read_bytes(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise Skip(f"too large ({size} bytes > INGEST_MAX_FILE_BYTES={max_bytes})")
        data = path.read_bytes()
    except OSError as error:
        raise Skip(f"cannot be read ({describe_error(error)})") from None
    if len(data) > max_bytes:
        raise Skip(f"too large ({len(data)} bytes > INGEST_MAX_FILE_BYTES={max_bytes})")
    return data


def read_source(path: Path, max_bytes: int) -> tuple[Extracted, str]:
    """(the extracted text, sha256 of the file's bytes), or Skip with the reason it cannot be ingested."""
    data = read_bytes(path, max_bytes)
    return extract(data, path.name), hashlib.sha256(data).hexdigest()


def read_source_file(source: SourceFile, max_bytes: int) -> tuple[Extracted, str]:
    """read_source for a file or an upload (its bytes in hand: extracted under the upload's name)."""
    if source.data is None:
        return read_source(source.path, max_bytes)
    if len(source.data) > max_bytes:
        raise Skip(f"too large ({len(source.data)} bytes > INGEST_MAX_FILE_BYTES={max_bytes})")
    return extract(source.data, source.path.name), hashlib.sha256(source.data).hexdigest()


def read_text(path: Path, max_bytes: int) -> tuple[str, str]:
    """(text, sha256 of the bytes): read_source's text alone."""
    extracted, content_hash = read_source(path, max_bytes)
    return extracted.text, content_hash


CONTEXT_SEPARATOR = " › "


def context_for(title: str, headings: tuple[str, ...]) -> str:
    """Chunk.context: the document title, then the chunk's heading path, without repeating the title."""
    parts = [part.strip() for part in (title, *headings) if part and part.strip()]
    return CONTEXT_SEPARATOR.join(dict.fromkeys(parts))[:1000]


def chunks_for(extracted: Extracted, size: int, overlap: int) -> list[Chunk]:
    """PDF pages chunked page by page; Markdown (and HTML, rewritten as Markdown) by headings; else plain."""
    if extracted.pages is not None:
        return chunk_pages(extracted.pages, size, overlap)
    return chunk_text(extracted.text, size, overlap, markdown=extracted.markdown, underlined=extracted.underlined)

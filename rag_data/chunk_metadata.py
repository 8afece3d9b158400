"""The metadata of a chunk as ingestion writes it to Milvus, from what the ledger holds (no store call).

One definition for both sides: ingestion.store_sync writes these keys to Milvus (what `metadata.<key>` filters match),
and a search builds the same keys from PostgreSQL for a hit only the keyword leg found (retrieval.pipeline), instead
of a Milvus query for them.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

_PAGE = re.compile(r"-p([0-9]+)$")
_EXTENSION_ALIASES = {"markdown": "md", "htm": "html", "xhtml": "html"}


def page_of(chunk_id: str) -> int | None:
    """The PDF page number a chunk id records, None for chunks of unpaged text."""
    match = _PAGE.search(chunk_id)
    return int(match.group(1)) if match else None


def extension(source_path: str) -> str:
    """The `ext` metadata: the lower-case suffix ("md" for .markdown, "html" for .htm/.xhtml), "txt" if none."""
    suffix = PurePosixPath(source_path).suffix.lower().lstrip(".")
    return _EXTENSION_ALIASES.get(suffix, suffix or "txt")


def chunk_metadata(source_path: str, title: str, ordinal: int, chunk_id: str) -> dict:
    """{source, title, ordinal, ext} and `page` for a PDF chunk (read from its chunk id)."""
    metadata = {"source": source_path, "title": title, "ordinal": ordinal, "ext": extension(source_path)}
    if (page := page_of(chunk_id)) is not None:
        metadata["page"] = page
    return metadata

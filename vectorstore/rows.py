"""Rows checked before they reach Milvus: every row of an upsert is validated first, so a bad one never leaves half a
batch written, and the error names the row and the chunk instead of a server message about a field."""

from __future__ import annotations

import json
from collections.abc import Mapping

from vectorstore import schema

ROW_KEYS = frozenset({"chunk_id", "document_id", "embedding", "metadata"})


def validated_row(row: Mapping, position: int) -> dict:
    """The row as it will be written, or ValueError naming the row, the chunk and what is wrong with it."""
    where = f"row {position}"
    if not isinstance(row, Mapping):
        raise ValueError(f"{where}: expected a mapping, got a {type(row).__name__}")
    missing = ROW_KEYS - {"metadata"} - set(row)
    extra = set(row) - ROW_KEYS
    if missing or extra:
        raise ValueError(f"{where}: missing keys {sorted(missing)}, unknown keys {sorted(extra)}")
    clean = {key: _text(row[key], key, f"{where} (chunk {row.get('chunk_id')!r})") for key in schema.MAX_LENGTHS}
    where = f"{where} (chunk {clean['chunk_id']!r})"
    clean["embedding"] = schema.checked_vector(row["embedding"], where)
    metadata = row.get("metadata")
    metadata = {} if metadata is None else metadata
    if not isinstance(metadata, Mapping):
        raise ValueError(f"{where}: metadata must be a mapping, got a {type(metadata).__name__}")
    try:
        json.dumps(metadata, allow_nan=False)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: metadata is not JSON-serializable ({error})") from None
    clean["metadata"] = dict(metadata)
    return clean


def _text(value, key: str, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: {key} must be a string, got a {type(value).__name__}")
    if not value:
        raise ValueError(f"{where}: {key} must not be empty")
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        raise ValueError(f"{where}: {key} is not valid Unicode text") from None
    limit = schema.MAX_LENGTHS[key]
    if size > limit:  # standalone counts bytes, Lite characters: bytes is the stricter, common rule
        raise ValueError(f"{where}: {key} is {size} bytes in UTF-8, the limit is {limit}")
    return value

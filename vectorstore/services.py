"""Writes to the Milvus collection: create/drop it, upsert and delete chunks.

A collection is created recording the configured embedder (vectorstore.schema); ensure_collection and
upsert_chunks refuse one built by another embedder (EmbedderMismatch, one line saying what to run).
A collection of an older schema (with the chunk text in `content`) is refused by check_writable
(LegacySchema, saying to run `manage.py reembed`); reads keep working until it is rebuilt.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping

from django.conf import settings

from vectorstore import embedder_identity, lite, lite_switch, schema
from vectorstore._pymilvus import DataNotMatchException, LoadState
from vectorstore.client import VectorStoreError, call, collection_name, forget_schema
from vectorstore.rows import validated_row
from vectorstore.filters import field_in
from vectorstore.selectors import (
    EmbedderMismatch, check_embedder, count_chunks, forget_verified_embedders, index_coverage, resolve_collection,
    vector_index,
)

_DELETE_BATCH = 500  # document ids per delete expression
LOAD_TIMEOUT_S = 120.0  # the least a load_collection call waits (services._load)


class SchemaMismatch(VectorStoreError):
    """The collection exists with a schema or index other than the expected one; never used silently."""

    def __init__(self, collection: str, differences: list[str]):
        self.collection = collection
        self.differences = list(differences)
        super().__init__(
            f"collection {collection!r} does not match the expected schema: {'; '.join(differences)}. "
            f"Drop it (manage.py milvus_drop) and re-create it, or use another MILVUS_COLLECTION."
        )


class LegacySchema(VectorStoreError):
    """The collection has fields of an older schema (the chunk text): readable, but rebuild before writing."""


def check_writable(name: str | None = None) -> None:
    """Raise LegacySchema when the collection still has fields of an older schema (see vectorstore.schema)."""
    name = name or collection_name()
    problem = schema.legacy_problem(name, call("describe_collection", name))
    if problem:
        raise LegacySchema(problem)


def create_collection(name: str, identity: dict | None = None) -> None:
    """Create `name` with the schema for the identity's dimension, its index, and the identity recorded."""
    identity = identity or embedder_identity.expected_identity()
    call("create_collection", name, schema=schema.build_schema(identity=identity), consistency_level="Strong",
         properties=embedder_identity.identity_properties(identity))
    forget_schema(name)
    # sync=False: the wait polls AllocTimestamp, which Lite lacks (it logs a traceback); the
    # collection is empty, so the index is ready at once and load_collection waits anyway.
    call("create_index", name, schema.build_index_params(), sync=False)


def ensure_collection() -> str:
    """Create the collection with its index and load it ("created"), or check and load the one there ("exists").

    An existing collection must record the configured embedder; one that records none is adopted only
    while it is empty (e.g. created by an older version and never written).
    """
    name = collection_name()
    if not call("has_collection", name):
        try:
            create_collection(name)
        except VectorStoreError:
            if not call("has_collection", name):  # not a lost race with another creator: a real failure
                raise
        else:
            _load(name)
            return "created"
    forget_schema(name)  # adopting what is there: never check writes against a schema cached before
    described = call("describe_collection", name)
    differences = schema.schema_differences(described)
    if not differences:
        index = vector_index(name)
        if index is None:  # a create that stopped before its index (crash, lost race): finish it
            call("create_index", name, schema.build_index_params(), sync=False)
            index = vector_index(name)
        differences = schema.index_differences(index)
    if differences:
        raise SchemaMismatch(name, differences)
    _load(name)
    _check_or_adopt_identity(name, described)
    return "exists"


def load_collection() -> None:
    """Load the configured collection if it is not loaded (changes no data; Milvus Lite loads per process)."""
    _load(collection_name())


def _check_or_adopt_identity(name: str, described: dict) -> None:
    expected = embedder_identity.expected_identity()
    recorded = embedder_identity.recorded_identity(described)
    if recorded is None:
        rows = count_chunks()
        if rows:
            raise EmbedderMismatch(embedder_identity.identity_problem(name, None, expected, rows))
        record_identity(name, expected)
        return
    problem = embedder_identity.identity_problem(name, recorded, expected)
    if problem:
        raise EmbedderMismatch(problem)


def record_identity(name: str, identity: dict) -> None:
    """Record `identity` in the collection's properties (servers and Milvus Lite 3 alter them in place).

    Milvus Lite 2.5 cannot alter a collection: an empty one is created again recording it; one that holds
    vectors is refused (rebuild it with `manage.py reembed`)."""
    if lite.lacks_aliases_and_properties(settings.MILVUS_URI):
        lite_switch.record_identity_by_recreating(name, identity, _create_and_load)
        return
    call("alter_collection_properties", name, properties=embedder_identity.identity_properties(identity))


def point_alias(alias: str, target: str) -> str | None:
    """Make `alias` name the collection `target`; returns the physical collection it named before, if any.

    The servers support aliases (create_alias/alter_alias; Milvus Lite 2.5 does not: lite_switch copies). An
    alias cannot share its name with a collection, so the first time (`alias` still a real collection) that
    collection is dropped just before the alias is created: searches in between (milliseconds) are told
    the collection does not exist. From then on alter_alias switches atomically.
    """
    if lite.lacks_aliases_and_properties(settings.MILVUS_URI):
        lite_switch.replace_by_copy(alias, target, _create_and_load)
        forget_verified_embedders()
        return None
    before = resolve_collection(alias)
    if before is None:
        call("create_alias", target, alias)
    elif before != alias:
        call("alter_alias", target, alias)
    else:
        call("drop_collection", alias)
        call("create_alias", target, alias)
        before = None  # already dropped
    forget_schema(alias)  # writes through the alias now meet another collection's fields
    forget_verified_embedders()
    return before


class IndexNotReady(VectorStoreError):
    """The vector index did not cover the whole collection within the time allowed."""


def flush() -> None:
    """Seal the collection's growing segments so that Milvus indexes them now (the index is built in the
    background). Until then they are searched through a temporary index that finds other neighbours, and
    a small collection may stay unsealed for a long time."""
    call("flush", collection_name())


def flush_and_wait_indexed(timeout: float = 600.0, poll: float = 0.5) -> dict:
    """Flush, then wait until the server searches every row through the vector index (index_coverage ready):
    from then on the same query gets the same answer until the next write. Returns the coverage plus the
    seconds waited; raises IndexNotReady (one line) when `timeout` seconds pass first."""
    started = time.monotonic()
    flush()
    live = count_chunks()  # sealed rows include deleted ones until a compaction: at least this many
    while True:
        coverage = index_coverage()
        waited = time.monotonic() - started
        if coverage["ready"] and coverage["rows"] >= live:
            return {**coverage, "seconds": round(waited, 1)}
        if waited >= timeout:
            served = max(coverage["served"], 0)
            raise IndexNotReady(f"Milvus has not finished indexing collection {collection_name()!r} after "
                                f"{waited:.0f} s ({coverage['indexed']} of {coverage['rows']} rows indexed, "
                                f"{served} searched through the index); try again later")
        time.sleep(poll)


def _create_and_load(name: str, identity: dict) -> None:
    create_collection(name, identity)
    _load(name)


def switch_pending(alias: str, target: str) -> bool:
    """True when an earlier switch of `alias` to `target` did not finish (only on Milvus Lite 2.5: it copies)."""
    return lite.lacks_aliases_and_properties(settings.MILVUS_URI) and lite_switch.switch_pending(alias, target)


def _load(name: str) -> None:
    state = call("get_load_state", name).get("state")
    if state != LoadState.Loaded:
        # Loading reads every segment into memory: after a restart, a large collection takes far longer than
        # the MILVUS_TIMEOUT an ordinary call gets.
        timeout = max(settings.MILVUS_TIMEOUT, LOAD_TIMEOUT_S)
        try:
            call("load_collection", name, timeout=timeout)
        except VectorStoreError as error:
            if "timeout" not in str(error).lower():
                raise
            raise VectorStoreError(f"collection {name!r} did not finish loading in {timeout:.0f} s; run "
                                   f"`manage.py init_stores` again to keep waiting") from None


def drop_collection() -> bool:
    """Drop the collection (when MILVUS_COLLECTION is an alias: the alias and the collection it names)."""
    name = collection_name()
    physical = resolve_collection(name)
    if physical is None:
        return False
    if physical != name:  # standalone refuses a drop through an alias, Lite would leave the alias behind
        call("drop_alias", name)
    call("drop_collection", physical)
    forget_schema(name)
    forget_schema(physical)
    forget_verified_embedders()
    return True


def upsert_chunks(rows: Iterable[Mapping], batch_size: int = 1000, collection: str | None = None) -> int:
    """Insert or replace chunks by chunk_id (both engines support upsert); returns the number written.

    `collection` defaults to MILVUS_COLLECTION (reembed writes its new collection). Refused
    (EmbedderMismatch) when the collection was built by another embedder. Every row is validated before anything is
    written (vectorstore/rows.py), so a bad row never leaves half a batch behind.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    clean = [validated_row(row, position) for position, row in enumerate(rows)]
    seen = set()
    for row in clean:
        if row["chunk_id"] in seen:
            raise ValueError(f"chunk_id {row['chunk_id']!r} appears more than once in one upsert")
        seen.add(row["chunk_id"])
    name = collection or collection_name()
    if clean:
        check_embedder(name)
    for start in range(0, len(clean), batch_size):
        _upsert(name, clean[start:start + batch_size])
    return len(clean)


def _upsert(name: str, rows: list[dict]) -> None:
    try:
        call("upsert", name, rows)
    except VectorStoreError as error:
        # The rows are validated against the expected schema, so a client-side mismatch means pymilvus checked
        # them against a schema it cached before the name came to mean another collection: forget it, once.
        if not isinstance(error.__cause__, DataNotMatchException):
            raise
        forget_schema(name)
        call("upsert", name, rows)


def delete_document_chunks(document_ids: Iterable[str]) -> int:
    """Delete every chunk of the given documents; returns how many chunks the engine reports deleted."""
    return _delete_in_batches(document_ids, "document_ids",
                              lambda batch: {"filter": field_in("document_id", batch)})


def delete_chunks(chunk_ids: Iterable[str], collection: str | None = None) -> int:
    """Delete chunks by primary key: much cheaper than a delete by expression on a standalone server."""
    return _delete_in_batches(chunk_ids, "chunk_ids", lambda batch: {"ids": batch}, collection)


def _delete_in_batches(ids: Iterable[str], what: str, selection, collection: str | None = None) -> int:
    if isinstance(ids, (str, bytes)):
        raise ValueError(f"{what} must be a list of ids, not a single string")
    ids = sorted(set(ids))
    name = collection or collection_name()
    deleted = 0
    for start in range(0, len(ids), _DELETE_BATCH):
        result = call("delete", name, **selection(ids[start:start + _DELETE_BATCH]))
        # Standalone answers {"delete_count": n}, Lite the list of deleted primary keys.
        deleted += result.get("delete_count", 0) if isinstance(result, Mapping) else len(result)
    return deleted

"""Reads from the Milvus collection: status, counts, similarity search, chunk ids per document."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Mapping

from django.conf import settings

from vectorstore import embedder_identity, lite, schema
from vectorstore._pymilvus import LoadState, MilvusException, grpc
from vectorstore.client import (
    VectorStoreError, call, collection_name, is_lite, loaded_segments, safe_uri, translate_error,
)
from vectorstore.filters import build_filter, field_in, line_break_field

MAX_K = 16384  # Milvus' largest topk
# Milvus builds no vector index for a sealed segment smaller than this (rootCoord.minSegmentSizeToEnableIndex,
# default 1024): it searches such a segment exactly, by brute force.
MIN_INDEXED_SEGMENT_ROWS = 1024
_IDS_PER_QUERY = 500
# A successful embedder check is trusted this long per (server, collection, embedder): describe_collection
# costs 1-2 ms, and a search calls Milvus twice. After `reembed` switches the collection, a process still
# configured with the old embedder is refused within this many seconds.
IDENTITY_RECHECK_SECONDS = 5.0
_verified: dict[tuple, float] = {}
_verified_lock = threading.Lock()


class EmbedderMismatch(VectorStoreError):
    """The collection was built by another embedder (or records none): searching or writing it is refused."""


def check_embedder(name: str | None = None) -> None:
    """Raise EmbedderMismatch unless the collection records the configured embedder (cached for a few s)."""
    name = name or collection_name()
    expected = embedder_identity.expected_identity()
    key = (settings.MILVUS_URI, name, tuple(sorted(expected.items())))
    now = time.monotonic()
    with _verified_lock:
        if now - _verified.get(key, float("-inf")) < IDENTITY_RECHECK_SECONDS:
            return
    problem = embedder_identity.identity_problem(name, embedder_identity.recorded_identity(call("describe_collection", name)), expected)
    if problem:
        raise EmbedderMismatch(problem)
    with _verified_lock:
        _verified[key] = now


def forget_verified_embedders() -> None:
    """Drop the cached checks (after a switch-over, or when tests reuse a collection name)."""
    with _verified_lock:
        _verified.clear()


def resolve_collection(name: str | None = None) -> str | None:
    """The physical collection behind `name` (itself, or the one an alias points to), None when neither exists.

    `manage.py reembed` makes MILVUS_COLLECTION an alias; every other call goes through the alias unchanged.
    """
    name = name or collection_name()
    if not call("has_collection", name):
        return None
    return call("describe_collection", name).get("collection_name") or name


def chunk_ids_in(name: str) -> set[str]:
    """Every chunk id stored in collection `name` (paged; `reembed` uses it to resume)."""
    return {row["chunk_id"] for row in iterate_rows(name, filter='chunk_id != ""', output_fields=["chunk_id"])}


ONE_QUERY_ROWS = 16384  # Milvus' largest query limit


def iterate_rows(name: str, *, filter: str, output_fields: list[str], batch_size: int = 1000):
    """Every row of collection `name` matching `filter` (strongly consistent).

    First one query of up to ONE_QUERY_ROWS rows: when fewer match, that is all of them, in one consistency wait
    (the paged query_iterator waits on each of its requests: reconcile, drift and the reliability tests on small
    collections spent most of their Milvus time there). Otherwise the rows are read again, paged with
    query_iterator. A failed request raises as `call` does (StoreUnavailable, VectorStoreError, ...); the iterator
    is always closed.
    """
    rows = call("query", name, filter=filter, output_fields=output_fields, limit=ONE_QUERY_ROWS,
                consistency_level="Strong")
    if len(rows) < ONE_QUERY_ROWS:
        yield from rows
        return
    iterator = call("query_iterator", name, batch_size=batch_size, filter=filter, output_fields=output_fields,
                    consistency_level="Strong")
    try:
        while batch := iterator.next():
            yield from batch
    except (MilvusException, grpc.RpcError) as error:
        raise translate_error(error, "query_iterator", (name,)) from error
    finally:
        iterator.close()


def collection_exists() -> bool:
    return bool(call("has_collection", collection_name()))


def count_chunks(name: str | None = None) -> int:
    """Rows in the collection via count(*): get_collection_stats is 0 on standalone until a flush."""
    rows = call("query", name or collection_name(), filter="", output_fields=["count(*)"], consistency_level="Strong")
    return int(rows[0]["count(*)"]) if rows else 0


def vector_index(name: str | None = None) -> dict | None:
    """describe_index of the index on `embedding`, or None when there is none."""
    name = name or collection_name()
    for index_name in call("list_indexes", name, field_name=schema.VECTOR_FIELD):
        return dict(call("describe_index", name, index_name))
    return None


def index_coverage(name: str | None = None) -> dict:
    """How much of the collection the server searches as it will until the next write: {"rows": rows in sealed
    segments, "indexed": of them indexed, "served": of them loaded for search in their final form (with the
    index; a segment under MIN_INDEXED_SEGMENT_ROWS gets none and is searched exactly), "ready": all three equal
    and nothing pending}. Rows still in growing (unflushed) segments are in none of the counts: a flush seals them.
    Milvus Lite indexes as it writes and reports no segments: there "served" is "indexed"."""
    name = name or collection_name()
    index = vector_index(name) or {}
    rows, indexed = int(index.get("total_rows") or 0), int(index.get("indexed_rows") or 0)
    pending = int(index.get("pending_index_rows") or 0)
    if is_lite():
        if not rows:  # Milvus Lite 2.5 reports no row counts at all (0 of 0): its index covers what it holds
            rows = indexed = count_chunks(name)
        served = indexed
    else:
        served = sum(rows for rows, index_name in loaded_segments(name)
                     if index_name or rows < MIN_INDEXED_SEGMENT_ROWS)
    return {"rows": rows, "indexed": indexed, "served": served, "ready": rows == indexed == served and not pending}


def load_state(name: str | None = None) -> str:
    """"Loaded", "Loading", "NotLoad" or "NotExist"."""
    state = call("get_load_state", name or collection_name()).get("state")
    return state.name if isinstance(state, LoadState) else str(state)


def collection_status(with_count: bool = True) -> dict:
    """Everything `milvus_describe` and health reports show, as plain JSON-ready values."""
    name = collection_name()
    status = {
        "collection": name, "uri": safe_uri(), "engine": "lite" if is_lite() else "standalone",
        "exists": False, "schema_differences": [], "fields": [], "index": None, "load_state": None,
        "row_count": None, "physical_collection": None, "embedder": None, "embedder_problem": None,
        "legacy_problem": None,
    }
    if not call("has_collection", name):
        return status
    described = call("describe_collection", name)
    index = vector_index(name)
    recorded = embedder_identity.recorded_identity(described)
    status.update(
        exists=True,
        physical_collection=described.get("collection_name", name),
        embedder=recorded,
        embedder_problem=embedder_identity.identity_problem(name, recorded, embedder_identity.expected_identity()),
        schema_differences=schema.schema_differences(described) + schema.index_differences(index),
        legacy_problem=schema.legacy_problem(name, described),
        fields=[
            {
                "name": field.get("name"), "type": schema.type_name(field.get("type")),
                "params": {key: value for key, value in (field.get("params") or {}).items()},
                "is_primary": bool(field.get("is_primary")),
            }
            for field in described.get("fields") or []
        ],
        index={key: value if isinstance(value, (int, float, bool)) else str(value) for key, value in index.items()}
        if index else None,
        load_state=load_state(name),
    )
    if with_count and status["load_state"] == "Loaded":  # count(*) needs a loaded collection; a Strong read
        status["row_count"] = count_chunks()
    return status


def unmatchable_filter(filters: Mapping | None) -> str | None:
    """Why the engine cannot match these filters, or None: Milvus Lite 2.5's lexer neither decodes an escaped
    line break nor accepts a raw one (vectorstore/filters.py), so such a value would silently match nothing."""
    if not lite.lacks_aliases_and_properties(settings.MILVUS_URI):
        return None
    field = line_break_field(filters)
    if field is None:
        return None
    return (f"{field} holds a line break, which Milvus Lite 2.5 cannot match; use the Milvus server "
            f"(MILVUS_URI=http://127.0.0.1:19530)")


def search(vector, k: int = 10, filters: Mapping | None = None, consistency_level: str = "Strong") -> list[dict]:
    """The k nearest chunks as {chunk_id, document_id, metadata, score}, best first (the text is in PostgreSQL).

    Refused (EmbedderMismatch) when the collection was built by another embedder than the configured one.

    `score` is the engine's distance for MILVUS_METRIC_TYPE: higher is closer for COSINE and IP,
    lower for L2. Reads are Strong by default so a chunk written just before is found; on standalone a
    Strong read waits for the next time tick (~200-400 ms), so latency-sensitive callers pass "Session"
    (read-your-own-writes within this process, otherwise at most a few hundred ms behind).
    """
    vector = schema.checked_vector(vector, "search")
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= MAX_K:
        raise ValueError(f"k must be a whole number from 1 to {MAX_K}, got {k!r}")
    expression = build_filter(filters)
    problem = unmatchable_filter(filters)
    if problem:
        raise ValueError(f"filters: {problem}")
    check_embedder()
    results = call(
        "search", collection_name(), data=[vector], limit=k, filter=expression,
        output_fields=schema.OUTPUT_FIELDS, search_params=schema.search_params(k),
        consistency_level=consistency_level,
    )
    return [_hit(hit) for hit in (results[0] if results else [])]


def _hit(hit) -> dict:
    entity = hit.get("entity") or {}
    # Standalone names the primary key 'id' in a hit, Lite uses the field name.
    chunk_id = entity.get("chunk_id") or hit.get("chunk_id") or hit.get("id")
    return {
        "chunk_id": chunk_id,
        "document_id": entity.get("document_id"),
        "metadata": entity.get("metadata") or {},
        "score": float(hit.get("distance")),
    }


def chunk_ids_for_documents(document_ids: Iterable[str]) -> dict[str, list[str]]:
    """{document_id: sorted chunk ids} for every requested document (an empty list when it has none).

    Pages with query_iterator, so a document with more chunks than Milvus' query window is complete.
    """
    if isinstance(document_ids, (str, bytes)):
        raise ValueError("document_ids must be a list of ids, not a single string")
    ids = sorted(set(document_ids))
    found: dict[str, list[str]] = {document_id: [] for document_id in ids}
    name = collection_name()
    for start in range(0, len(ids), _IDS_PER_QUERY):
        expression = field_in("document_id", ids[start:start + _IDS_PER_QUERY])
        for row in iterate_rows(name, filter=expression, output_fields=["chunk_id", "document_id"]):
            found[row["document_id"]].append(row["chunk_id"])
    return {document_id: sorted(chunks) for document_id, chunks in found.items()}


def matching_chunks(chunk_ids: Iterable[str], filters: Mapping | None = None,
                    consistency_level: str = "Strong") -> dict[str, dict]:
    """{chunk_id: {document_id, metadata}} for those of `chunk_ids` that are in Milvus and match `filters`.

    Lets a caller that found chunks elsewhere (keyword search in PostgreSQL) apply the same filter
    language, escaped by vectorstore.filters, with the same meaning.
    """
    if isinstance(chunk_ids, (str, bytes)):
        raise ValueError("chunk_ids must be a list of ids, not a single string")
    ids = sorted(set(chunk_ids))
    extra = build_filter(filters)
    found: dict[str, dict] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        expression = field_in("chunk_id", ids[start:start + _IDS_PER_QUERY])
        if extra:
            expression = f"({expression}) and ({extra})"
        rows = call(
            "query", collection_name(), filter=expression, output_fields=["chunk_id", "document_id", "metadata"],
            consistency_level=consistency_level,
        )
        for row in rows:
            found[row["chunk_id"]] = {"document_id": row.get("document_id"), "metadata": row.get("metadata") or {}}
    return found


def all_chunk_documents(batch_size: int = 1000) -> dict[str, str]:
    """{chunk_id: document_id} for every row of the collection, paged with query_iterator (for reconcile)."""
    rows = iterate_rows(collection_name(), filter="", output_fields=["chunk_id", "document_id"], batch_size=batch_size)
    return {row["chunk_id"]: row["document_id"] for row in rows}

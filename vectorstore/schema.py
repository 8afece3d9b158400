"""The expected `knowledge_chunks` schema and index, and a pure comparison with what the server describes.

The embedder that built a collection's vectors is recorded on it: vectorstore/identity.py.

No scalar index on document_id: no index type works on both engines (standalone 2.3.5 accepts only
"Trie"/default for VARCHAR, Milvus Lite only "INVERTED"), and a schema that differs per engine would make
the two drift. Filters on document_id still work; they scan.

Only what filtering and ranking need is stored: ids, the vector, and metadata. Collections built before
schema version 2 also have a `content` VARCHAR with the chunk text (never read: search takes the text from
PostgreSQL). Such a *legacy* collection still matches for reads (search, health); writers refuse it with
`legacy_problem`, which says to run `manage.py reembed`, the rebuild that drops the field.
"""

from __future__ import annotations

import math

from django.conf import settings

from core.uris import is_milvus_lite
from vectorstore._pymilvus import CollectionSchema, DataType, MilvusClient
from vectorstore.embedder_identity import identity_description

PRIMARY_KEY = "chunk_id"
VECTOR_FIELD = "embedding"
MAX_LENGTHS = {"chunk_id": 128, "document_id": 128}
OUTPUT_FIELDS = ["chunk_id", "document_id", "metadata"]
SCHEMA_VERSION = 2  # 1 had `content`; part of the name `reembed` gives the collection it builds
LEGACY_FIELDS = {"content": "VARCHAR"}  # fields of older schema versions: tolerated for reads, never written

# Milvus Lite 2.5 builds only these ("local mode only support FLAT IVF_FLAT AUTOINDEX"); HNSW there becomes FLAT
# (exact search, what Lite's small local data needs), so one MILVUS_INDEX_TYPE serves the server and Lite.
LITE_INDEX_TYPES = ("FLAT", "IVF_FLAT", "AUTOINDEX")
LITE_INDEX_FALLBACK = "FLAT"

INDEX_BUILD_PARAMS = {
    "HNSW": {"M": 16, "efConstruction": 200},
    "IVF_FLAT": {"nlist": 128},
    "FLAT": {},
    "AUTOINDEX": {},
}


def expected_fields(dim: int | None = None) -> list[dict]:
    """(name, type, params, primary) for every field, in schema order."""
    dim = settings.EMBEDDING_DIM if dim is None else dim
    return [
        {"name": "chunk_id", "type": "VARCHAR", "params": {"max_length": 128}, "is_primary": True},
        {"name": "document_id", "type": "VARCHAR", "params": {"max_length": 128}, "is_primary": False},
        {"name": VECTOR_FIELD, "type": "FLOAT_VECTOR", "params": {"dim": dim}, "is_primary": False},
        {"name": "metadata", "type": "JSON", "params": {}, "is_primary": False},
    ]


def build_schema(dim: int | None = None, identity: dict | None = None) -> CollectionSchema:
    """The collection schema; `dim` defaults to EMBEDDING_DIM (tests pass another to provoke a mismatch);
    `identity`, when given, is recorded in its description."""
    description = identity_description(identity) if identity else ""
    schema = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False, description=description)
    for field in expected_fields(dim):
        extra = {"is_primary": True, "auto_id": False} if field["is_primary"] else {}
        schema.add_field(field["name"], DataType[field["type"]], **field["params"], **extra)
    return schema


def index_type(uri: str | None = None) -> str:
    """The index type collections get: MILVUS_INDEX_TYPE, except HNSW on Milvus Lite (LITE_INDEX_FALLBACK)."""
    configured = settings.MILVUS_INDEX_TYPE
    uri = settings.MILVUS_URI if uri is None else uri
    if configured not in LITE_INDEX_TYPES and is_milvus_lite(uri):
        return LITE_INDEX_FALLBACK
    return configured


def build_index_params():
    """Index on the vector field from MILVUS_INDEX_TYPE (index_type()) / MILVUS_METRIC_TYPE."""
    kind = index_type()
    params = MilvusClient.prepare_index_params()
    params.add_index(
        field_name=VECTOR_FIELD,
        index_type=kind,
        metric_type=settings.MILVUS_METRIC_TYPE,
        params=dict(INDEX_BUILD_PARAMS[kind]),
    )
    return params


def search_params(k: int) -> dict:
    """Query-time parameters matching the index: HNSW an ef >= k (MILVUS_SEARCH_EF), IVF_FLAT an nprobe."""
    index_type_ = index_type()
    if index_type_ == "HNSW":
        params = {"ef": max(settings.MILVUS_SEARCH_EF, k)}
    elif index_type_ == "IVF_FLAT":
        params = {"nprobe": 16}
    else:
        params = {}
    return {"metric_type": settings.MILVUS_METRIC_TYPE, "params": params}


def checked_vector(value, where: str = "vector") -> list[float]:
    """A list of EMBEDDING_DIM finite floats, or a ValueError that says what is wrong."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__len__"):
        raise ValueError(f"{where}: embedding must be a list of numbers")
    if len(value) != settings.EMBEDDING_DIM:
        raise ValueError(
            f"{where}: embedding has {len(value)} dimensions, expected {settings.EMBEDDING_DIM} (EMBEDDING_DIM)"
        )
    try:
        vector = list(map(float, value))
    except (TypeError, ValueError):
        raise ValueError(f"{where}: embedding must hold only numbers") from None
    # A finite sum means no NaN or infinity (either would make it NaN or infinite): one C loop instead of a
    # call per number (ingest validates every vector it writes). Only a non-finite sum, which finite values
    # can also give by overflowing, is checked number by number.
    if not math.isfinite(sum(vector)) and not all(map(math.isfinite, vector)):
        raise ValueError(f"{where}: embedding holds NaN or infinity")
    return vector


def type_name(value) -> str:
    """DataType, its number or its name -> the name ("VARCHAR")."""
    if isinstance(value, DataType):
        return value.name
    if isinstance(value, int):
        try:
            return DataType(value).name
        except ValueError:
            return str(value)
    text = str(value).upper()
    return text.split(".", 1)[1] if text.startswith("DATATYPE.") else text


def _int_param(field: dict, name: str):
    value = (field.get("params") or {}).get(name, field.get(name))
    try:
        return int(value)
    except (TypeError, ValueError):
        return value


def schema_differences(described: dict, dim: int | None = None) -> list[str]:
    """Human sentences for every way `describe_collection` output differs from the expected schema.

    Works with standalone and Lite output alike: only names, types, params and primary-key flags are
    compared (Lite reports field_id 0, standalone real ids; both may report params as int or str).
    """
    expected = expected_fields(dim)
    fields = [f for f in (described or {}).get("fields") or [] if not f.get("is_dynamic")]
    if not fields:
        return ["the collection reports no fields"]
    actual = {f.get("name"): f for f in fields}
    problems = []
    for spec in expected:
        name, want_type = spec["name"], spec["type"]
        field = actual.get(name)
        if field is None:
            problems.append(f"field {name!r} is missing (expected {want_type})")
            continue
        got_type = type_name(field.get("type"))
        if got_type != want_type:
            problems.append(f"field {name!r} has type {got_type}, expected {want_type}")
            continue
        if want_type == "VARCHAR":
            got = _int_param(field, "max_length")
            if got != spec["params"]["max_length"]:
                problems.append(f"field {name!r} has max_length {got}, expected {spec['params']['max_length']}")
        if want_type == "FLOAT_VECTOR":
            got, want = _int_param(field, "dim"), spec["params"]["dim"]
            if got != want:
                problems.append(f"field {name!r} has dim {got}, expected {want} (EMBEDDING_DIM)")
        is_primary = bool(field.get("is_primary"))
        if spec["is_primary"] and not is_primary:
            problems.append(f"field {name!r} is not the primary key")
        elif is_primary and not spec["is_primary"]:
            problems.append(f"field {name!r} is the primary key, expected {PRIMARY_KEY!r}")
        if spec["is_primary"] and (field.get("auto_id") or described.get("auto_id")):
            problems.append(f"primary key {name!r} has auto_id on, expected off (ids come from the caller)")
    known = {spec["name"] for spec in expected}
    for field in fields:
        if field.get("name") not in known and not _is_legacy(field):
            problems.append(f"unexpected field {field.get('name')!r} ({type_name(field.get('type'))})")
    return problems


def _is_legacy(field: dict) -> bool:
    return LEGACY_FIELDS.get(field.get("name")) == type_name(field.get("type")) and not field.get("is_primary")


def legacy_fields(described: dict) -> list[str]:
    """Names of the fields of older schema versions the collection still has (e.g. ["content"])."""
    return [f.get("name") for f in (described or {}).get("fields") or [] if _is_legacy(f)]


def legacy_problem(collection: str, described: dict) -> str | None:
    """One line telling to rebuild a collection of an older schema version before writing it, or None."""
    names = legacy_fields(described)
    if not names:
        return None
    return (f"collection {collection!r} has the field(s) {', '.join(map(repr, names))} of an older schema that "
            f"kept chunk text in Milvus (the text lives in PostgreSQL now); run `manage.py reembed` to rebuild it "
            f"without them before writing (search keeps working until then)")


def index_differences(described_index: dict | None) -> list[str]:
    """Sentences for an index on `embedding` that is missing or not the configured type/metric.

    Build params (M, efConstruction, nlist) are not compared: Milvus Lite does not report them.
    """
    if not described_index:
        return [f"field {VECTOR_FIELD!r} has no index"]
    problems = []
    got_type, want_type = str(described_index.get("index_type", "")).upper(), index_type()
    if got_type != want_type:
        lite = "" if want_type == settings.MILVUS_INDEX_TYPE else f" on Milvus Lite for {settings.MILVUS_INDEX_TYPE}"
        problems.append(
            f"index on {VECTOR_FIELD!r} is {got_type or 'unknown'}, expected {want_type}{lite} (MILVUS_INDEX_TYPE)"
        )
    got_metric = str(described_index.get("metric_type", "")).upper()
    if got_metric != settings.MILVUS_METRIC_TYPE:
        problems.append(
            f"index on {VECTOR_FIELD!r} uses metric {got_metric or 'unknown'}, expected "
            f"{settings.MILVUS_METRIC_TYPE} (MILVUS_METRIC_TYPE)"
        )
    return problems

"""Unit tests of the expected schema, the schema comparison, row validation and the settings checks."""

import copy

import pytest
from django.core.checks import ERROR

from vectorstore import checks, embedder_identity, schema
from vectorstore._pymilvus import DataType
from vectorstore.client import is_lite, safe_uri
from vectorstore.services import upsert_chunks


def described(dim=384, field_id=True, legacy=False):
    """describe_collection output shaped like the engines': standalone has real ids, Lite reports 0.

    `legacy`: a collection of schema version 1, which kept the chunk text in `content`.
    """
    fields = [
        {"name": "chunk_id", "type": DataType.VARCHAR, "params": {"max_length": 128}, "is_primary": True},
        {"name": "document_id", "type": DataType.VARCHAR, "params": {"max_length": 128}},
        *([{"name": "content", "type": DataType.VARCHAR, "params": {"max_length": 65535}}] if legacy else []),
        {"name": "embedding", "type": DataType.FLOAT_VECTOR, "params": {"dim": dim}},
        {"name": "metadata", "type": DataType.JSON, "params": {}},
    ]
    for number, field in enumerate(fields):
        field.update(description="", field_id=100 + number if field_id else 0)
    return {"collection_name": "knowledge_chunks", "auto_id": False, "enable_dynamic_field": False,
            "fields": fields}


@pytest.mark.parametrize("field_id", [True, False], ids=["standalone", "lite"])
def test_expected_schema_has_no_differences(field_id):
    assert schema.schema_differences(described(field_id=field_id)) == []


def test_types_and_params_given_as_numbers_or_text_are_understood():
    data = described()
    data["fields"][0]["type"] = 21
    data["fields"][2]["type"] = "FLOAT_VECTOR"
    data["fields"][2]["params"]["dim"] = "384"
    assert schema.schema_differences(data) == []


def test_dim_difference_is_a_sentence():
    assert schema.schema_differences(described(dim=768)) == [
        "field 'embedding' has dim 768, expected 384 (EMBEDDING_DIM)"
    ]


def test_every_kind_of_difference_is_named():
    data = described()
    fields = {f["name"]: f for f in data["fields"]}
    fields["document_id"]["params"]["max_length"] = 256
    fields["chunk_id"].pop("is_primary")
    fields["metadata"]["is_primary"] = True
    data["fields"].remove(fields["embedding"])
    data["fields"].append({"name": "title", "type": DataType.VARCHAR, "params": {"max_length": 10}})
    data["fields"].append({"name": "$meta", "type": DataType.JSON, "is_dynamic": True})
    assert schema.schema_differences(data) == [
        "field 'chunk_id' is not the primary key",
        "field 'document_id' has max_length 256, expected 128",
        "field 'embedding' is missing (expected FLOAT_VECTOR)",
        "field 'metadata' is the primary key, expected 'chunk_id'",
        "unexpected field 'title' (VARCHAR)",
    ]


def test_the_chunk_text_is_not_in_the_schema():
    assert [field["name"] for field in schema.expected_fields()] == ["chunk_id", "document_id", "embedding", "metadata"]
    assert "content" not in schema.OUTPUT_FIELDS


def test_a_legacy_content_field_is_tolerated_for_reads_and_named_for_writes():
    data = described(legacy=True)
    assert schema.schema_differences(data) == []  # search and health keep working until the rebuild
    assert schema.legacy_fields(data) == ["content"] and schema.legacy_fields(described()) == []
    problem = schema.legacy_problem("kc", data)
    assert "'content'" in problem and "`manage.py reembed`" in problem and "\n" not in problem
    assert schema.legacy_problem("kc", described()) is None
    fields = {f["name"]: f for f in data["fields"]}
    fields["content"]["type"] = DataType.INT64  # not the old field: an unknown one
    assert schema.schema_differences(data) == ["unexpected field 'content' (INT64)"]


def test_auto_id_and_empty_descriptions():
    data = copy.deepcopy(described())
    data["auto_id"] = True
    assert schema.schema_differences(data) == [
        "primary key 'chunk_id' has auto_id on, expected off (ids come from the caller)"
    ]
    assert schema.schema_differences({}) == ["the collection reports no fields"]


def test_built_schema_matches_its_own_description():
    built = schema.build_schema().to_dict()
    assert schema.schema_differences(built) == []
    assert schema.schema_differences(schema.build_schema(dim=8).to_dict()) == [
        "field 'embedding' has dim 8, expected 384 (EMBEDDING_DIM)"
    ]


@pytest.mark.parametrize(
    "index_type, params, search",
    [
        ("HNSW", {"M": 16, "efConstruction": 200}, {"ef": 256}),
        ("IVF_FLAT", {"nlist": 128}, {"nprobe": 16}),
        ("FLAT", {}, {}),
        ("AUTOINDEX", {}, {}),
    ],
)
def test_index_params_follow_settings(settings, index_type, params, search):
    settings.MILVUS_URI = "http://127.0.0.1:19530"  # a server: Milvus Lite builds no HNSW (next test)
    settings.MILVUS_INDEX_TYPE, settings.MILVUS_METRIC_TYPE = index_type, "L2"
    (index,) = list(schema.build_index_params())
    assert index.field_name == "embedding"
    assert index.get_index_configs() == {**params, "metric_type": "L2", "index_type": index_type}
    assert schema.search_params(10) == {"metric_type": "L2", "params": search}


@pytest.mark.parametrize("configured, built", [("HNSW", "FLAT"), ("IVF_FLAT", "IVF_FLAT"), ("FLAT", "FLAT"),
                                                ("AUTOINDEX", "AUTOINDEX")])
def test_milvus_lite_gets_an_index_it_builds(settings, tmp_path, configured, built):
    """Milvus Lite 2.5 builds FLAT, IVF_FLAT and AUTOINDEX only ("local mode only support ..."): HNSW is FLAT there."""
    settings.MILVUS_URI, settings.MILVUS_INDEX_TYPE = str(tmp_path / "knowledge.db"), configured
    assert schema.index_type() == built
    (index,) = list(schema.build_index_params())
    assert index.get_index_configs()["index_type"] == built
    assert schema.index_differences({"index_type": built, "metric_type": settings.MILVUS_METRIC_TYPE}) == []
    if configured != built:
        found = {"index_type": configured, "metric_type": settings.MILVUS_METRIC_TYPE}
        assert schema.index_differences(found) == [
            f"index on 'embedding' is {configured}, expected {built} on Milvus Lite for {configured} (MILVUS_INDEX_TYPE)"]


def test_identity_is_read_from_the_properties_or_else_the_description():
    identity = {"embedder": "hashing", "model": "offline-hashing-v1", "dim": 16}
    properties = embedder_identity.identity_properties(identity)
    assert embedder_identity.recorded_identity({"properties": properties, "description": ""}) == identity  # servers, Lite 3
    assert embedder_identity.recorded_identity({"properties": {}, "description": embedder_identity.identity_description(identity)}) \
        == identity  # Milvus Lite 2.5 keeps no properties
    assert embedder_identity.recorded_identity({"properties": {}, "description": "rag.identity=not json"}) is None
    assert embedder_identity.recorded_identity({"properties": {}, "description": "a note"}) is None
    assert schema.build_schema(16, identity).description == embedder_identity.identity_description(identity)


def test_hnsw_ef_follows_the_setting_and_grows_with_k(settings):
    settings.MILVUS_URI = "http://127.0.0.1:19530"
    assert schema.search_params(500)["params"] == {"ef": 500}
    settings.MILVUS_SEARCH_EF = 100
    assert schema.search_params(20)["params"] == {"ef": 100}
    assert schema.search_params(150)["params"] == {"ef": 150}


def test_index_differences(settings):
    settings.MILVUS_URI = "http://127.0.0.1:19530"
    assert schema.index_differences({"index_type": "HNSW", "metric_type": "COSINE"}) == []
    assert schema.index_differences(None) == ["field 'embedding' has no index"]
    assert schema.index_differences({"index_type": "FLAT", "metric_type": "L2"}) == [
        "index on 'embedding' is FLAT, expected HNSW (MILVUS_INDEX_TYPE)",
        "index on 'embedding' uses metric L2, expected COSINE (MILVUS_METRIC_TYPE)",
    ]


def row(**changes):
    base = {"chunk_id": "c1", "document_id": "d1", "embedding": [0.1] * 384, "metadata": {}}
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "bad, message",
    [
        (row(embedding=[0.1] * 3), "embedding has 3 dimensions, expected 384"),
        (row(embedding=[float("nan")] * 384), "NaN or infinity"),
        (row(embedding=[0.1] * 383 + [float("-inf")]), "NaN or infinity"),
        (row(embedding=[1e308] * 383 + [float("nan")]), "NaN or infinity"),
        (row(embedding="abc"), "list of numbers"),
        (row(embedding=["x"] * 384), "only numbers"),
        (row(chunk_id="é" * 65), "chunk_id is 130 bytes in UTF-8, the limit is 128"),
        (row(document_id=""), "document_id must not be empty"),
        (row(document_id=5), "document_id must be a string"),
        (row(content="the text"), "unknown keys \\['content'\\]"),
        (row(metadata=[1]), "metadata must be a mapping"),
        (row(metadata={"x": object()}), "not JSON-serializable"),
        (row(metadata={"x": float("inf")}), "not JSON-serializable"),
        ({"chunk_id": "c1"}, "missing keys"),
        (row(extra=1), "unknown keys"),
        ("not a row", "expected a mapping"),
    ],
)
def test_upsert_rejects_bad_rows_before_writing(bad, message):
    with pytest.raises(ValueError, match=message):
        upsert_chunks([row(chunk_id="ok"), bad])


def test_upsert_rejects_duplicate_ids_and_bad_batch_size():
    with pytest.raises(ValueError, match="more than once"):
        upsert_chunks([row(), row()])
    with pytest.raises(ValueError, match="batch_size"):
        upsert_chunks([row()], batch_size=0)


def test_checks_are_quiet_for_the_local_defaults(settings, tmp_path):
    settings.MILVUS_URI = str(tmp_path / "sub" / "x.db")
    assert checks.check_milvus_settings() == []


def test_checks_refuse_lite_in_production_and_warn_about_clear_text_tokens(settings, tmp_path):
    settings.PRODUCTION = True
    settings.MILVUS_URI = str(tmp_path / "x.db")
    assert [(e.id, e.level) for e in checks.check_milvus_settings()] == [("vectorstore.E001", ERROR)]
    settings.MILVUS_URI, settings.MILVUS_TOKEN = "http://milvus.example.com:19530", "root:sekrit-token"
    warnings = checks.check_milvus_settings()
    assert [w.id for w in warnings] == ["vectorstore.W003"]
    assert "sekrit-token" not in warnings[0].msg
    settings.MILVUS_URI = "http://127.0.0.1:19530"
    assert checks.check_milvus_settings() == []


def test_uri_helpers(settings):
    assert is_lite("/data/x.db") and not is_lite("http://h:19530") and not is_lite("https://h")
    settings.MILVUS_TOKEN = "tok-secret-value"
    assert safe_uri("https://root:pw-secret@h:19530") == "https://root:***@h:19530"
    assert "tok-secret-value" not in safe_uri("http://h/?token=tok-secret-value")


def test_a_vector_of_finite_numbers_whose_sum_overflows_is_valid():
    vector = schema.checked_vector([1e308] * 383 + [2], "row 0")
    assert len(vector) == 384 and vector[-1] == 2.0 and isinstance(vector[-1], float)

"""The vector store against the real engines: every test runs on Milvus standalone AND Milvus Lite."""

import pytest
from django.conf import settings

from vectorstore import client, embedder_identity, schema, selectors, services
from vectorstore.client import CollectionNotFound
from vectorstore.services import SchemaMismatch

from .conftest import unit_vector

pytestmark = pytest.mark.integration


def chunk(chunk_id, document_id, hot, **metadata):
    return {
        "chunk_id": chunk_id, "document_id": document_id,
        "embedding": unit_vector(settings.EMBEDDING_DIM, hot), "metadata": metadata,
    }


def test_ensure_collection_creates_then_finds(milvus_backend, small_dim):
    assert services.ensure_collection() == "created"
    assert services.ensure_collection() == "exists"
    status = selectors.collection_status()
    assert status["exists"] and status["schema_differences"] == []
    assert status["load_state"] == "Loaded" and status["row_count"] == 0
    assert status["engine"] == milvus_backend
    assert [f["name"] for f in status["fields"]] == ["chunk_id", "document_id", "embedding", "metadata"]
    assert status["index"]["index_type"] == schema.index_type() and status["index"]["metric_type"] == "COSINE"


def test_existing_collection_that_is_not_loaded_gets_loaded(collection):
    client.call("release_collection", settings.MILVUS_COLLECTION)
    assert selectors.load_state() == "NotLoad"
    assert services.ensure_collection() == "exists"
    assert selectors.load_state() == "Loaded"


def test_a_collection_that_is_not_loaded_is_one_line_saying_what_to_run(collection):
    """What a search meets while Milvus loads collections again after a restart."""
    client.call("release_collection", settings.MILVUS_COLLECTION)
    if collection == "lite":  # Milvus Lite serves a released collection anyway: nothing to report there
        assert selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), k=1) == []
        return
    with pytest.raises(client.CollectionNotLoaded) as raised:
        selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), k=1)
    line = str(raised.value)
    assert f"collection {settings.MILVUS_COLLECTION!r} is not loaded" in line and "\n" not in line
    assert line.endswith("if it stays so, run `manage.py init_stores`")
    services.load_collection()
    assert selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), k=1) == []


def test_a_load_that_outlasts_its_wait_says_to_run_init_stores_again(collection, monkeypatch):
    def slow_load(method, *args, **kwargs):
        if method == "load_collection":
            assert kwargs["timeout"] >= services.LOAD_TIMEOUT_S  # far more than an ordinary call's MILVUS_TIMEOUT
            raise client.VectorStoreError("Milvus load_collection failed: MilvusException: (code=1, message=wait "
                                          "for loading collection timeout, collection: x)")
        return client.call(method, *args, **kwargs)

    client.call("release_collection", settings.MILVUS_COLLECTION)
    monkeypatch.setattr(services, "call", slow_load)
    with pytest.raises(client.VectorStoreError) as raised:
        services.load_collection()
    assert str(raised.value) == (f"collection {settings.MILVUS_COLLECTION!r} did not finish loading in 120 s; run "
                                 f"`manage.py init_stores` again to keep waiting")


def test_schema_mismatch_is_reported_not_used(milvus_backend, small_dim):
    milvus = client.get_client()
    index = schema.build_index_params()
    milvus.create_collection(settings.MILVUS_COLLECTION, schema=schema.build_schema(dim=8), index_params=index)
    with pytest.raises(SchemaMismatch) as raised:
        services.ensure_collection()
    assert raised.value.differences == ["field 'embedding' has dim 8, expected 16 (EMBEDDING_DIM)"]
    assert "has dim 8, expected 16" in str(raised.value)
    assert selectors.collection_status()["schema_differences"] == raised.value.differences


def test_a_collection_left_without_its_index_gets_it(milvus_backend, small_dim):
    client.get_client().create_collection(settings.MILVUS_COLLECTION, schema=schema.build_schema())
    assert services.ensure_collection() == "exists"
    status = selectors.collection_status()
    assert status["schema_differences"] == [] and status["load_state"] == "Loaded"


def test_index_with_another_metric_is_a_mismatch(milvus_backend, small_dim, settings):
    settings.MILVUS_METRIC_TYPE = "L2"
    client.get_client().create_collection(
        settings.MILVUS_COLLECTION, schema=schema.build_schema(), index_params=schema.build_index_params()
    )
    settings.MILVUS_METRIC_TYPE = "COSINE"
    with pytest.raises(SchemaMismatch, match="uses metric L2, expected COSINE"):
        services.ensure_collection()


def test_upsert_search_delete_round_trip(collection):
    rows = [
        chunk("a-1", "doc-a", 0, lang="en", year=2024),
        chunk("a-2", "doc-a", 1, lang="de", year=2023),
        chunk("b-1", "doc-b", 2, lang="en", year=2023),
        chunk("b-2", "doc-b", 3, lang="en", year=2024),
        chunk("c-1", "doc-c", 4),
    ]
    assert services.upsert_chunks(rows, batch_size=2) == 5
    assert selectors.count_chunks() == 5

    hits = selectors.search(unit_vector(settings.EMBEDDING_DIM, 2), k=3)
    assert hits[0] == {
        "chunk_id": "b-1", "document_id": "doc-b",
        "metadata": {"lang": "en", "year": 2023}, "score": pytest.approx(1.0, abs=1e-5),
    }
    assert len(hits) == 3 and hits[0]["score"] >= hits[1]["score"] >= hits[2]["score"]

    only_b = selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), k=10, filters={"document_id": "doc-b"})
    assert sorted(h["chunk_id"] for h in only_b) == ["b-1", "b-2"]
    filtered = selectors.search(
        unit_vector(settings.EMBEDDING_DIM, 0), k=10, filters={"metadata.lang": "en", "metadata.year": [2024]}
    )
    assert sorted(h["chunk_id"] for h in filtered) == ["a-1", "b-2"]

    # Upsert replaces by chunk_id: same count, new metadata.
    services.upsert_chunks([chunk("a-1", "doc-a", 0, lang="fr")])
    assert selectors.count_chunks() == 5
    assert selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), k=1)[0]["metadata"] == {"lang": "fr"}

    assert selectors.chunk_ids_for_documents(["doc-a", "doc-b", "nope"]) == {
        "doc-a": ["a-1", "a-2"], "doc-b": ["b-1", "b-2"], "nope": [],
    }
    assert services.delete_document_chunks(["doc-a", "nope"]) == 2
    assert selectors.count_chunks() == 3
    assert all(h["document_id"] != "doc-a" for h in selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), k=10))
    assert services.delete_document_chunks([]) == 0


def test_chunk_ids_page_past_one_batch(collection):
    rows = [chunk(f"big-{i:05d}", "big", i) for i in range(1500)] + [chunk("other-1", "other", 1)]
    services.upsert_chunks(rows, batch_size=700)
    found = selectors.chunk_ids_for_documents(["big", "other"])
    assert found["big"] == [f"big-{i:05d}" for i in range(1500)] and found["other"] == ["other-1"]


def test_search_validates_its_input(collection):
    with pytest.raises(ValueError, match="dimensions"):
        selectors.search([1.0, 0.0], k=3)
    with pytest.raises(ValueError, match="k must be"):
        selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), k=0)
    with pytest.raises(ValueError, match="cannot filter on"):
        selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), filters={"content": "x"})


def test_missing_collection_is_a_clear_error(milvus_backend, small_dim):
    with pytest.raises(CollectionNotFound, match="milvus_create"):
        services.upsert_chunks([chunk("x", "d", 0)])
    with pytest.raises(CollectionNotFound):
        selectors.count_chunks()
    assert services.drop_collection() is False
    assert selectors.collection_status()["exists"] is False


def test_drop_collection(collection):
    assert services.drop_collection() is True
    assert selectors.collection_exists() is False


def test_token_never_shows(milvus_backend, settings):
    settings.MILVUS_TOKEN = "root:Token-Never-Shown-42"  # auth is off locally: any token is accepted
    milvus = client.get_client()
    assert "Token-Never-Shown-42" not in repr(milvus) + str(milvus)
    assert settings.MILVUS_URI.split("://")[-1] in repr(milvus)
    with pytest.raises(Exception) as raised:
        client.call("query", "no_such_collection_here", filter="", output_fields=["count(*)"])
    assert "Token-Never-Shown-42" not in str(raised.value)


def test_a_new_uri_gets_a_new_client(milvus_backend, settings, tmp_path):
    first = client.get_client()
    assert client.get_client() is first
    settings.MILVUS_URI = str(tmp_path / "nested" / "dir" / "other.db")  # parent directories are created
    second = client.get_client()
    assert second is not first and second.list_collections() == []
    client.connection().close()
    assert client.get_client() is not second


def test_delete_chunks_by_primary_key(collection):
    services.upsert_chunks([chunk("k-1", "doc-k", 0), chunk("k-2", "doc-k", 1), chunk("k-3", "doc-k", 2)])
    assert services.delete_chunks(["k-1", "k-3", "never-there"]) >= 2
    assert selectors.chunk_ids_for_documents(["doc-k"]) == {"doc-k": ["k-2"]}
    with pytest.raises(ValueError, match="not a single string"):
        services.delete_chunks("k-2")


def test_writes_follow_a_collection_another_client_created_again_with_other_fields(collection):
    """pymilvus 2.5 checks rows against a schema it cached per name: when another client drops the collection and
    creates it again with other fields (what `reembed` and the legacy-schema tests do), writes still work."""
    from vectorstore._pymilvus import DataType, MilvusClient

    name, identity = settings.MILVUS_COLLECTION, embedder_identity.expected_identity()
    other = MilvusClient(uri=settings.MILVUS_URI, alias="another-client")  # its own connection and schema cache
    try:
        # The collection as an older schema version had it (with `content`); this process writes it once.
        other.drop_collection(name)
        legacy = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False,
                                            description=embedder_identity.identity_description(identity))
        legacy.add_field("chunk_id", DataType.VARCHAR, max_length=128, is_primary=True, auto_id=False)
        legacy.add_field("document_id", DataType.VARCHAR, max_length=128)
        legacy.add_field("content", DataType.VARCHAR, max_length=1000)
        legacy.add_field("embedding", DataType.FLOAT_VECTOR, dim=settings.EMBEDDING_DIM)
        legacy.add_field("metadata", DataType.JSON)
        other.create_collection(name, schema=legacy, index_params=schema.build_index_params(),
                                consistency_level="Strong", properties=embedder_identity.identity_properties(identity))
        client.call("upsert", name, [{**chunk("old", "d0", 0), "content": "text"}])  # caches the legacy schema
        # Another client drops it and creates it with the current fields.
        other.drop_collection(name)
        other.create_collection(name, schema=schema.build_schema(identity=identity),
                                index_params=schema.build_index_params(), consistency_level="Strong",
                                properties=embedder_identity.identity_properties(identity))
        other.load_collection(name)
    finally:
        other.close()
    selectors.forget_verified_embedders()
    assert services.upsert_chunks([chunk("new", "d1", 1)]) == 1
    assert [hit["chunk_id"] for hit in selectors.search(unit_vector(settings.EMBEDDING_DIM, 1), k=5)] == ["new"]


def test_another_client_of_the_same_address_closing_leaves_ours_open(collection):
    """pymilvus 2.5 shares one connection between the clients of one URI and token in a process: the app's own
    client (or a benchmark's raw one) closing must not close the connection this project searches with."""
    from vectorstore._pymilvus import MilvusClient

    services.upsert_chunks([chunk("mine", "d-own", 1)])
    other = MilvusClient(uri=settings.MILVUS_URI, token=settings.MILVUS_TOKEN or "")  # pymilvus' default alias
    other.list_collections()
    other.close()
    assert [hit["chunk_id"] for hit in selectors.search(unit_vector(settings.EMBEDDING_DIM, 1), k=5)] == ["mine"]


def test_every_row_is_read_in_one_query_when_few_and_paged_when_many(collection, monkeypatch):
    services.upsert_chunks([chunk(f"r-{n}", "doc-r", n) for n in range(5)])
    read = lambda: sorted(row["chunk_id"] for row in selectors.iterate_rows(  # noqa: E731
        settings.MILVUS_COLLECTION, filter="", output_fields=["chunk_id"], batch_size=2))
    assert read() == [f"r-{n}" for n in range(5)]  # fewer than ONE_QUERY_ROWS: the first query is all of them
    monkeypatch.setattr(selectors, "ONE_QUERY_ROWS", 3)  # as many as the limit: read again, paged
    assert read() == [f"r-{n}" for n in range(5)]

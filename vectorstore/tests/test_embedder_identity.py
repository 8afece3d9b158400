"""The embedder is part of the data: recorded on the collection, and another one refused, on standalone and Lite."""

import pytest

from textmodels.embedders import get_embedder
from vectorstore import client, embedder_identity, schema, selectors, services
from vectorstore.selectors import EmbedderMismatch
from vectorstore.tests.conftest import unit_vector


@pytest.fixture(autouse=True)
def _fresh_checks():
    selectors.forget_verified_embedders()
    yield
    selectors.forget_verified_embedders()


def _row(chunk_id, vector):
    return {"chunk_id": chunk_id, "document_id": "doc", "embedding": vector, "metadata": {}}


def test_created_collection_records_the_embedder(collection, settings):
    described = client.call("describe_collection", settings.MILVUS_COLLECTION)
    # Servers and Lite 3 keep the properties, Lite 2.5 only the description: each records it where it can.
    assert "hashing" in (described.get("properties") or {}).get("rag.embedder", described.get("description", ""))
    assert embedder_identity.recorded_identity(described) == {"embedder": "hashing", "model": "offline-hashing-v1", "dim": 16}
    status = selectors.collection_status()
    assert status["embedder"] == {"embedder": "hashing", "model": "offline-hashing-v1", "dim": 16}
    assert status["embedder_problem"] is None
    # `offline` is the hashing embedder's old name: same identity, same vectors, accepted.
    settings.EMBEDDER = "offline"
    assert services.ensure_collection() == "exists"
    services.upsert_chunks([_row("a", unit_vector(16, 0))])
    assert selectors.search(unit_vector(16, 0), k=1)[0]["chunk_id"] == "a"


def test_another_embedder_of_the_same_dimension_is_refused(collection, stub, settings):
    services.upsert_chunks([_row("a", unit_vector(16, 0))])
    settings.EMBEDDER, settings.EMBEDDER_MODEL, settings.EMBEDDER_URL = "openai", "my-16-dim-model", stub.url
    expected = (f"collection '{settings.MILVUS_COLLECTION}' was built by EMBEDDER=hashing (model offline-hashing-v1, "
                f"16 dims) but this process uses EMBEDDER=openai (model my-16-dim-model, 16 dims); run `manage.py "
                f"reembed` to rebuild it with the configured embedder, or set EMBEDDER=hashing again")
    # The schema cannot see the difference (same dimension): only the recorded identity does.
    assert schema.schema_differences(client.call("describe_collection", settings.MILVUS_COLLECTION)) == []
    for refused in (lambda: selectors.search(unit_vector(16, 0), k=1), services.ensure_collection,
                    lambda: services.upsert_chunks([_row("b", unit_vector(16, 1))])):
        with pytest.raises(EmbedderMismatch) as raised:
            refused()
        assert str(raised.value) == expected
    assert selectors.collection_status()["embedder_problem"] == expected
    settings.EMBEDDER = "hashing"
    assert selectors.count_chunks() == 1  # nothing was written by the refused upsert


def test_wordllama_on_a_hashing_collection_is_refused_before_milvus_sees_the_vector(collection, settings):
    settings.EMBEDDER, settings.EMBEDDING_DIM, settings.EMBEDDER_MODEL = "wordllama", 256, "l2_supercat"
    with pytest.raises(EmbedderMismatch, match=r"built by EMBEDDER=hashing .* uses EMBEDDER=wordllama \(model "
                                               r"l2_supercat, 256 dims\); run `manage.py reembed`"):
        selectors.search(get_embedder().embed(["a query"])[0], k=1)


def test_collection_without_identity_is_adopted_while_empty_and_refused_once_written(milvus_backend, small_dim,
                                                                                   settings):
    name = settings.MILVUS_COLLECTION
    milvus = client.get_client()
    milvus.create_collection(name, schema=schema.build_schema(), index_params=schema.build_index_params())
    assert services.ensure_collection() == "exists"  # empty: adopted
    assert embedder_identity.recorded_identity(client.call("describe_collection", name))["embedder"] == "hashing"

    milvus.drop_collection(name)
    milvus.create_collection(name, schema=schema.build_schema(), index_params=schema.build_index_params(),
                             consistency_level="Strong")
    milvus.insert(name, [_row("old", unit_vector(16, 0))])
    with pytest.raises(EmbedderMismatch, match=r"holds 1 vectors but records no embedder .* `manage.py reembed`"):
        services.ensure_collection()
    with pytest.raises(EmbedderMismatch, match="records no embedder"):
        selectors.search(unit_vector(16, 0), k=1)


def test_wordllama_collection_finds_by_meaning(milvus_backend, settings):
    settings.EMBEDDER, settings.EMBEDDING_DIM, settings.EMBEDDER_MODEL = "wordllama", 256, "l2_supercat"
    assert services.ensure_collection() == "created"
    texts = {"car": "My car needs new tyres and an oil change.", "fruit": "A banana is a yellow tropical fruit.",
             "music": "The violin concerto was played by the orchestra."}
    vectors = get_embedder().embed(list(texts.values()))
    services.upsert_chunks([_row(key, vector) for key, vector in zip(texts, vectors)])
    query = get_embedder().embed(["servicing an automobile"])[0]
    assert selectors.search(query, k=1)[0]["chunk_id"] == "car"
    assert selectors.collection_status()["embedder"] == {"embedder": "wordllama", "model": "l2_supercat", "dim": 256}


@pytest.mark.parametrize(("recorded", "way_back"), [
    ({"embedder": "wordllama", "model": "l2_supercat", "dim": 256}, ", or set EMBEDDER=wordllama again"),
    # The same fixed-model embedder from another release: no setting brings the old model back.
    ({"embedder": "minilm", "model": "all-MiniLM-L6-v2-int8", "dim": 384},
     " (this release's EMBEDDER=minilm makes only model all-MiniLM-L6-v2-int8-dynamic)"),
])
def test_the_mismatch_line_names_the_way_back_this_release_has(recorded, way_back):
    expected = {"embedder": "minilm", "model": "all-MiniLM-L6-v2-int8-dynamic", "dim": 384}
    line = embedder_identity.identity_problem("kc", recorded, expected)
    assert line.endswith("run `manage.py reembed` to rebuild it with the configured embedder" + way_back)
    openai = {"embedder": "openai", "model": "small", "dim": 512}
    assert embedder_identity.identity_problem("kc", openai, {**openai, "model": "large", "dim": 1024}).endswith(
        ", or set EMBEDDER_MODEL=small and EMBEDDING_DIM=512 again")
    assert embedder_identity.identity_problem("kc", openai, openai) is None

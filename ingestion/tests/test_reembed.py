"""`manage.py reembed` on standalone and Lite: hashing-built vectors rebuilt with wordllama, switched at the end."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ingestion import reembed as reembed_module
from ingestion.services import ingest_paths
from ingestion.tests.support import corpus, stores  # noqa: F401 (fixtures)
from rag_data.models import Chunk
from textmodels.embedders import get_embedder
from vectorstore import client, lite, selectors, services
from vectorstore.selectors import EmbedderMismatch

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

WORDLLAMA = {"EMBEDDER": "wordllama", "EMBEDDING_DIM": 256, "EMBEDDER_MODEL": "l2_supercat"}


@pytest.fixture
def cleanup(settings):
    """Drop the alias and every collection reembed made (the shared fixture drops by name only)."""
    yield
    selectors.forget_verified_embedders()
    base = settings.MILVUS_COLLECTION
    milvus = client.get_client()
    physical = selectors.resolve_collection(base)
    if physical and physical != base:
        milvus.drop_alias(base)
    for name in milvus.list_collections():
        if name.startswith(base):
            milvus.drop_collection(name)


def _switched_to(settings, target: str) -> str:
    """The physical collection MILVUS_COLLECTION names after a switch to `target`: `target` behind an alias, or on
    Milvus Lite 2.5 (no aliases) the collection under its own name, into which the switch copied `target`."""
    return settings.MILVUS_COLLECTION if lite.lacks_aliases_and_properties(settings.MILVUS_URI) else target


def _use(settings, values):
    for key, value in values.items():
        setattr(settings, key, value)
    selectors.forget_verified_embedders()


def _run(*args):
    from io import StringIO

    out = StringIO()
    call_command("reembed", "--no-progress", *args, stdout=out)
    return out.getvalue()


def test_reembed_rebuilds_then_switches(stores, corpus, settings, cleanup, monkeypatch):
    assert not ingest_paths([corpus]).failed
    base = settings.MILVUS_COLLECTION
    chunks = Chunk.objects.count()
    hashing_vector = get_embedder().embed(["vector database"])[0]
    assert selectors.search(hashing_vector, k=1)

    # Interrupted after the first batch: the old collection still answers, the new one holds one batch.
    _use(settings, WORDLLAMA)
    calls = []
    original = reembed_module._embed_and_write

    def fail_second_batch(ids, target):
        calls.append(ids)
        if len(calls) == 2:
            raise RuntimeError("killed")
        return original(ids, target)

    monkeypatch.setattr(reembed_module, "_embed_and_write", fail_second_batch)
    with pytest.raises(CommandError, match="reembed failed: RuntimeError: killed"):
        _run("--batch-size", "2")
    monkeypatch.undo()
    target = reembed_module.target_name(base, get_embedder().identity)
    assert selectors.resolve_collection(base) == base
    assert len(selectors.chunk_ids_in(target)) == 2
    _use(settings, {"EMBEDDER": "hashing", "EMBEDDING_DIM": 32})
    assert selectors.search(hashing_vector, k=1)  # search kept working on the old collection

    # Resumed with the new embedder configured: completes, then switches MILVUS_COLLECTION to it.
    _use(settings, WORDLLAMA)
    text = _run("--batch-size", "2")
    assert f"{base} -> {target}: built by EMBEDDER=wordllama (model l2_supercat, 256 dims); embedded " \
           f"{chunks - 2} chunks (resumed with 2 already there, removed 0 stale)" in text
    assert f"previous collection {base}: dropped" in text
    assert selectors.resolve_collection(base) == _switched_to(settings, target)
    assert selectors.count_chunks() == chunks
    status = selectors.collection_status()
    assert status["embedder"]["embedder"] == "wordllama"
    assert status["physical_collection"] == _switched_to(settings, target)
    hits = selectors.search(get_embedder().embed(["knowledge graph concepts"])[0], k=1)
    assert "knowledge graph" in Chunk.objects.get(chunk_id=hits[0]["chunk_id"]).text.lower()
    assert services.ensure_collection() == "exists"

    # The old embedder is now refused, with the line that says what to do.
    _use(settings, {"EMBEDDER": "hashing", "EMBEDDING_DIM": 32})
    with pytest.raises(EmbedderMismatch, match="built by EMBEDDER=wordllama .* set EMBEDDER=wordllama again"):
        selectors.search(hashing_vector, k=1)

    # Back to hashing: a second switch, this time an atomic alter_alias; the wordllama collection is dropped.
    text = _run()
    back = reembed_module.target_name(base, get_embedder().identity)
    if _switched_to(settings, target) == target:
        assert f"previous collection {target}: dropped" in text
        assert selectors.resolve_collection(base) == back and back in client.get_client().list_collections()
    else:  # Milvus Lite 2.5: copied under the base name again, the collection it was built in dropped
        assert f"previous collection {base}: dropped" in text
        assert selectors.resolve_collection(base) == base and back not in client.get_client().list_collections()
    assert target not in client.get_client().list_collections()
    assert selectors.count_chunks() == chunks
    assert _run().strip() == f"{base} is already built by EMBEDDER=hashing (model offline-hashing-v1, 32 dims): " \
                             "nothing to do"
    # milvus_drop through the alias drops both.
    assert services.drop_collection() and not client.get_client().has_collection(back)


def test_adopt_records_the_embedder_on_an_old_collection(stores, settings, cleanup):
    from vectorstore import schema

    milvus = client.get_client()
    name = settings.MILVUS_COLLECTION
    milvus.create_collection(name, schema=schema.build_schema(), index_params=schema.build_index_params(),
                             consistency_level="Strong")
    milvus.insert(name, [{"chunk_id": "c", "document_id": "d", "embedding": [1.0] + [0.0] * 31,
                          "metadata": {}}])
    with pytest.raises(EmbedderMismatch, match="records no embedder"):
        services.ensure_collection()
    if lite.lacks_aliases_and_properties(settings.MILVUS_URI):  # it cannot alter a collection: says what to run
        with pytest.raises(CommandError, match="holds 1 vectors and Milvus Lite 2.5 cannot record an embedder .* "
                                               "`manage.py reembed`"):
            _run("--adopt")
        return
    assert _run("--adopt").startswith(f"{name} now records EMBEDDER=hashing")
    assert services.ensure_collection() == "exists"
    with pytest.raises(CommandError, match="already records EMBEDDER=hashing"):
        _run("--adopt")


def _create_legacy_collection(name: str, identity: dict, dim: int) -> None:
    """A collection as versions before schema 2 built it: the chunk text in a `content` VARCHAR."""
    from vectorstore import embedder_identity, schema
    from vectorstore._pymilvus import DataType, MilvusClient

    legacy = MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False,
                                        description=embedder_identity.identity_description(identity))
    legacy.add_field("chunk_id", DataType.VARCHAR, max_length=128, is_primary=True, auto_id=False)
    legacy.add_field("document_id", DataType.VARCHAR, max_length=128)
    legacy.add_field("content", DataType.VARCHAR, max_length=65535)
    legacy.add_field("embedding", DataType.FLOAT_VECTOR, dim=dim)
    legacy.add_field("metadata", DataType.JSON)
    client.call("create_collection", name, schema=legacy, consistency_level="Strong",
                properties=embedder_identity.identity_properties(identity))
    client.call("create_index", name, schema.build_index_params(), sync=False)
    client.call("load_collection", name)


def test_a_collection_with_the_chunk_text_is_searchable_then_rebuilt_without_it(stores, corpus, settings, cleanup):
    from ingestion import store_sync
    from ingestion.store_sync import StoreFailure
    from vectorstore import schema

    base = settings.MILVUS_COLLECTION
    assert not ingest_paths([corpus]).failed  # PostgreSQL holds the documents; Milvus is replaced below
    services.drop_collection()
    _create_legacy_collection(base, get_embedder().identity, settings.EMBEDDING_DIM)
    chunks = list(Chunk.objects.select_related("document").order_by("chunk_id"))
    vectors = store_sync.embed([chunk.text for chunk in chunks])
    client.call("insert", base, [{**row, "content": chunk.text} for row, chunk in zip(
        [r for c, v in zip(chunks, vectors) for r in store_sync.milvus_rows(c.document, [c], [v])], chunks)])
    selectors.forget_verified_embedders()

    # Reads keep working (search never asked for the text), health sees no schema difference...
    hit = selectors.search(vectors[0], k=1)[0]
    assert hit["chunk_id"] == chunks[0].chunk_id and "content" not in hit
    status = selectors.collection_status()
    assert status["schema_differences"] == [] and "manage.py reembed" in status["legacy_problem"]
    # ...but writers are told, in one line, to rebuild it first.
    with pytest.raises(StoreFailure) as refused:
        ingest_paths([corpus])
    message = str(refused.value)
    assert message.startswith("Milvus") and "'content'" in message and "`manage.py reembed`" in message
    assert "\n" not in message

    # The same embedder, but the old schema: reembed rebuilds and switches anyway.
    text = _run()
    target = reembed_module.target_name(base, get_embedder().identity)
    assert f"{base} -> {target}" in text and selectors.resolve_collection(base) == _switched_to(settings, target)
    described = client.call("describe_collection", base)
    assert schema.legacy_fields(described) == [] and schema.schema_differences(described) == []
    assert selectors.count_chunks() == len(chunks)
    assert selectors.search(vectors[0], k=1)[0]["chunk_id"] == chunks[0].chunk_id
    assert len(ingest_paths([corpus]).unchanged) == 4  # writable again
    assert _run().strip().endswith("nothing to do")


def test_reembed_to_minilm_rebuilds_with_the_transformer(stores, corpus, settings, cleanup):
    """The quality option (docs/embedders.md): an existing collection is rebuilt with EMBEDDER=minilm and searched."""
    assert not ingest_paths([corpus]).failed
    chunks = Chunk.objects.count()
    _use(settings, {"EMBEDDER": "minilm", "EMBEDDING_DIM": 384, "EMBEDDER_MODEL": "all-MiniLM-L6-v2-int8-dynamic"})
    text = _run("--batch-size", "64")
    assert "built by EMBEDDER=minilm (model all-MiniLM-L6-v2-int8-dynamic, 384 dims)" in text
    assert selectors.count_chunks() == chunks
    assert selectors.collection_status()["embedder"] == {"embedder": "minilm", "model": "all-MiniLM-L6-v2-int8-dynamic",
                                                         "dim": 384}
    hits = selectors.search(get_embedder().embed(["knowledge graph concepts"])[0], k=1)
    assert "knowledge graph" in Chunk.objects.get(chunk_id=hits[0]["chunk_id"]).text.lower()

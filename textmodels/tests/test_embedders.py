"""The OpenAI-compatible embedder against a local HTTP stub, and the offline embedder's guarantees."""

import math

import pytest

from core.retry import StoreUnavailable
from textmodels.embedders import EmbedderError, OfflineHashingEmbedder, OpenAICompatibleEmbedder, get_embedder




def _vectors(n, dim=3):
    # Out of order on purpose: the client sorts by index.
    return {"data": [{"index": i, "embedding": [float(i)] * dim} for i in reversed(range(n))]}


def test_openai_embedder_batches_and_orders(stub, settings):
    settings.EMBEDDER, settings.EMBEDDER_URL, settings.EMBEDDER_MODEL = "openai", stub.url, "emb"
    settings.EMBEDDING_DIM, settings.EMBEDDER_BATCH_SIZE, settings.EMBEDDER_API_KEY = 3, 2, "sk-emb"
    stub.reply((200, _vectors(2)), (200, _vectors(1)))
    embedder = get_embedder()
    assert isinstance(embedder, OpenAICompatibleEmbedder) and "sk-emb" not in repr(embedder)
    assert embedder.embed(["a", "b", "c"]) == [[0.0] * 3, [1.0] * 3, [0.0] * 3]
    assert [r["json"]["input"] for r in stub.requests] == [["a", "b"], ["c"]]
    assert stub.requests[0]["path"] == "/v1/embeddings"
    assert stub.requests[0]["headers"]["Authorization"] == "Bearer sk-emb"


def test_openai_embedder_retries_then_succeeds(stub, fast_retries):
    stub.reply((502, {"error": "gateway"}), (200, _vectors(1)))
    assert OpenAICompatibleEmbedder(stub.url, "m", 3, 5, 8).embed(["x"]) == [[0.0] * 3]
    assert len(stub.requests) == 2


def test_openai_embedder_gives_up(stub, fast_retries):
    stub.reply((503, {"error": "busy"}))
    with pytest.raises(StoreUnavailable, match="Embedder"):
        OpenAICompatibleEmbedder(stub.url, "m", 3, 5, 8).embed(["x"])


@pytest.mark.parametrize("status, reply, message", [
    (403, {}, "rejected the credentials"),
    (400, {}, "HTTP 400"),
    (200, {"data": [{"embedding": [1.0, 2.0]}]}, "2-dimensional"),
    (200, {"nope": 1}, "data"),
    (200, _vectors(2), "2 vectors for 1 texts"),
])
def test_openai_embedder_errors(stub, fast_retries, status, reply, message):
    stub.reply((status, reply))
    with pytest.raises(EmbedderError, match=message):
        OpenAICompatibleEmbedder(stub.url, "m", 3, 5, 8, api_key="k").embed(["x"])
    assert len(stub.requests) == 1


def test_offline_embedder_is_deterministic_and_normalised():
    embedder = OfflineHashingEmbedder(dim=64)
    first, again = embedder.embed(["vector search", "vector search"])
    assert first == again and math.isclose(math.fsum(v * v for v in first), 1.0)
    assert embedder.embed_one("") != [0.0] * 64

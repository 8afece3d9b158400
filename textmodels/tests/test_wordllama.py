"""The default embedder, wordllama: the real shipped model, loaded without network, with meaning in its vectors."""

import math
import os
import socket
import subprocess
import sys

import pytest

from core import embedder_catalog as catalog
from textmodels.tests.offline import REPO, run_without_network
from textmodels.embedders import (
    EmbedderError, HashingEmbedder, WordLlamaEmbedder, configured_identity, get_embedder, load_wordllama,
)


def _cosine(a, b):
    return math.fsum(x * y for x, y in zip(a, b)) / math.sqrt(math.fsum(x * x for x in a) * math.fsum(y * y for y in b))


@pytest.fixture(scope="module")
def wordllama():
    return WordLlamaEmbedder()


def test_similar_meaning_is_closer_than_unrelated(wordllama):
    car, automobile, banana = wordllama.embed(["a car", "an automobile", "a banana"])
    assert _cosine(car, automobile) > 0.5 > 0.2 > _cosine(car, banana)
    # The hashing embedder sees spelling, not meaning: "a car" shares the word "a" with "a banana" only.
    hashing = HashingEmbedder(dim=384).embed(["a car", "an automobile", "a banana"])
    assert _cosine(hashing[0], hashing[1]) < _cosine(hashing[0], hashing[2])


def test_vectors_are_deterministic_unit_and_256_dimensional(wordllama):
    texts = ["Milvus stores vectors.", "Neo4j stores the knowledge graph. " * 40, "", "!!!"]
    first = wordllama.embed(texts)
    # The same text alone or in another batch (padding differs) gives the same vector.
    alone = wordllama.embed([texts[0]])[0] + wordllama.embed(texts[::-1])[0]
    assert [len(v) for v in first] == [256] * 4 and len(alone) == 512
    assert all(isinstance(x, float) and math.isfinite(x) for v in first for x in v)
    assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-6) for v in first)
    assert max(abs(a - b) for a, b in zip(first[0], alone[:256])) < 1e-6
    assert max(abs(a - b) for a, b in zip(first[3], alone[256:])) < 1e-6
    assert first[2] == [1.0] + [0.0] * 255  # empty text: a fixed unit vector, never NaN
    assert wordllama.embed([]) == []


def test_loads_with_the_network_refused(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = load_wordllama()  # not the per-process cached one: a fresh load
    assert model.embed(["offline"], norm=True).shape == (1, 256)


def test_loads_in_a_fresh_process_without_network():
    """A process with no proxy, no cache and every socket connect refused still loads and embeds."""
    assert run_without_network("from textmodels.embedders import WordLlamaEmbedder\n"
                               "print(len(WordLlamaEmbedder().embed(['hello'])[0]))") == "256"


def test_settings_choose_it_and_load_the_model_once(settings):
    settings.EMBEDDER, settings.EMBEDDING_DIM, settings.EMBEDDER_MODEL = "wordllama", 256, "l2_supercat"
    embedder = get_embedder()
    assert isinstance(embedder, WordLlamaEmbedder) and embedder is get_embedder()
    assert configured_identity() == {"embedder": "wordllama", "model": "l2_supercat", "dim": 256}
    from textmodels import embedders

    embedder.embed(["warm"])
    loaded = embedders._wordllama_model()
    embedder.embed(["again"])
    assert embedders._wordllama_model() is loaded


def test_offline_is_the_hashing_embedder_under_its_old_name(settings):
    settings.EMBEDDER, settings.EMBEDDING_DIM = "offline", 384
    offline = get_embedder()
    settings.EMBEDDER = "hashing"
    hashing = get_embedder()
    assert isinstance(offline, HashingEmbedder) and offline.identity == hashing.identity
    assert offline.identity == {"embedder": "hashing", "model": "offline-hashing-v1", "dim": 384}
    assert offline.embed(["same vectors"]) == hashing.embed(["same vectors"])
    # What vectorstore checks (computed from the settings, no embedder built) is what the embedder reports.
    assert catalog.configured_identity() == hashing.identity
    settings.EMBEDDER, settings.EMBEDDING_DIM, settings.EMBEDDER_MODEL = "wordllama", 256, "l2_supercat"
    assert catalog.configured_identity() == get_embedder().identity


def test_wordllama_with_another_dimension_is_refused(settings):
    settings.EMBEDDER, settings.EMBEDDING_DIM = "wordllama", 384
    with pytest.raises(EmbedderError, match="unset EMBEDDING_DIM"):
        get_embedder()


@pytest.mark.parametrize(("env", "line"), [
    ({}, None),
    ({"EMBEDDER": "offline"}, None),
    ({"EMBEDDING_DIM": "384"}, "configuration error: EMBEDDING_DIM: EMBEDDER=wordllama makes 256-dimensional "
                               "vectors, got 384; unset EMBEDDING_DIM (or set it to 256)"),
    ({"EMBEDDER": "openai", "EMBEDDER_URL": "http://127.0.0.1:9/v1", "EMBEDDER_MODEL": "mine"},
     "configuration error: EMBEDDING_DIM: required with EMBEDDER=openai and EMBEDDER_MODEL=mine "
     "(the size of its vectors is not known here)"),
    ({"EMBEDDER": "fasttext"}, "configuration error: EMBEDDER: expected wordllama, minilm, hashing (formerly "
                               "offline), openai or sentence-transformers, got 'fasttext'"),
])
def test_embedding_dim_follows_the_embedder(env, line):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EMBEDD", "DJANGO_"))}
    code = "from django.conf import settings as s; print(s.EMBEDDER, s.EMBEDDER_MODEL, s.EMBEDDING_DIM)"
    result = subprocess.run([sys.executable, "-W", "ignore", "manage.py", "shell", "-c", code], cwd=REPO,
                            env={**environment, **env}, capture_output=True, text=True, timeout=60)
    if line is None:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == ("hashing offline-hashing-v1 384" if env else "wordllama l2_supercat 256")
    else:
        assert result.returncode == 2 and result.stderr.strip() == line


def test_catalog_defaults():
    assert catalog.canonical("Offline") == "hashing" and catalog.canonical("nope") is None
    assert catalog.default_dim("sentence-transformers", "all-MiniLM-L6-v2") == 384
    assert catalog.default_dim("openai", "text-embedding-3-large") == 3072
    assert catalog.default_dim("openai", "unknown") is None

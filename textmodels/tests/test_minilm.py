"""EMBEDDER=minilm: the real int8 ONNX model from its wheel, offline, with word order and meaning in its vectors."""

import os
import subprocess
import sys

import numpy as np
import pytest

from core import embedder_catalog as catalog
from textmodels import minilm
from textmodels.embedders import EmbedderError, configured_identity, get_embedder
from textmodels.minilm import MiniLMEmbedder, MiniLMError
from textmodels.tests.offline import REPO, run_without_network


@pytest.fixture(scope="module")
def embedder():
    return MiniLMEmbedder()


def test_a_paraphrased_question_finds_the_passage_that_answers_it(embedder):
    question, answer, neighbour = np.array(embedder.embed([
        "how do I find which of my tests are the slowest",
        "pytest --durations=N shows the N slowest test durations at the end of the run",
        "Django's test runner creates a test database before running tests",
    ]))
    # The figures of sentence-transformers' own all-MiniLM-L6-v2 (fp32) on this pair: 0.48 and 0.20.
    assert question @ answer > 0.4 > 0.25 > question @ neighbour


def test_vectors_are_unit_384_dimensional_and_independent_of_the_batch(embedder):
    texts = ["Milvus stores vectors.", "Neo4j stores the knowledge graph. " * 80, "", "!!!", "short"]
    together = np.array(embedder.embed(texts))
    alone = np.array([embedder.embed([text])[0] for text in texts])
    assert together.shape == (5, 384) and np.isfinite(together).all()
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    # Batches are sorted by length and padded to their longest: padding must not change any vector.
    assert np.abs(together - alone).max() < 1e-4
    assert embedder.embed([]) == []


def test_loads_in_a_fresh_process_without_network():
    assert run_without_network("from textmodels.minilm import MiniLMEmbedder\n"
                               "print(len(MiniLMEmbedder().embed(['hello'])[0]))") == "384"


def test_a_changed_model_file_is_one_line_saying_what_to_reinstall(monkeypatch, tmp_path):
    forged = tmp_path / "tokenizer.json"
    forged.write_text("{}")
    monkeypatch.setattr(minilm, "TOKENIZER_PATH", forged)
    with pytest.raises(MiniLMError) as caught:
        minilm.model_file()
    message = str(caught.value)
    assert "\n" not in message and "is not the file this release was tested with" in message
    assert minilm.INSTALL in message and isinstance(caught.value, EmbedderError)
    monkeypatch.setattr(minilm, "TOKENIZER_PATH", tmp_path / "missing.json")
    with pytest.raises(MiniLMError, match="cannot read .*missing.json"):
        minilm.model_file()


def test_settings_choose_it_once_per_process(settings, monkeypatch):
    settings.EMBEDDER, settings.EMBEDDING_DIM, settings.EMBEDDER_MODEL = "minilm", 384, catalog.MINILM_MODEL
    embedder = get_embedder()
    assert isinstance(embedder, MiniLMEmbedder) and embedder is get_embedder()
    assert configured_identity() == {"embedder": "minilm", "model": "all-MiniLM-L6-v2-int8-dynamic", "dim": 384}
    assert catalog.configured_identity() == embedder.identity
    embedder.embed(["warm"])
    loaded = minilm._loaded()
    embedder.embed(["again"])
    assert minilm._loaded() is loaded
    settings.EMBEDDING_DIM = 256
    with pytest.raises(EmbedderError, match="makes 384-dimensional vectors but EMBEDDING_DIM is 256"):
        get_embedder()


MODEL = catalog.MINILM_MODEL


@pytest.mark.parametrize(("env", "line"), [
    ({"EMBEDDER": "minilm"}, f"minilm {MODEL} 384 1.0 5.0"),
    ({"EMBEDDER": "minilm", "SEARCH_WEIGHT_KEYWORD": "3", "SEARCH_RRF_K": "0"}, f"minilm {MODEL} 384 3.0 0.0"),
    ({"EMBEDDER": "minilm", "SEARCH_WEIGHT_KEYWORD": "", "SEARCH_RRF_K": ""}, f"minilm {MODEL} 384 1.0 5.0"),
    ({"SEARCH_WEIGHT_KEYWORD": "", "SEARCH_RRF_K": ""}, "wordllama l2_supercat 256 4.0 0.0"),
    ({"SEARCH_RRF_K": "x"}, "configuration error: SEARCH_RRF_K: expected a number, got 'x'"),
    ({}, "wordllama l2_supercat 256 4.0 0.0"),
    ({"EMBEDDER": "minilm", "EMBEDDING_DIM": "256"},
     "configuration error: EMBEDDING_DIM: EMBEDDER=minilm makes 384-dimensional vectors, got 256; unset EMBEDDING_DIM "
     "(or set it to 384)"),
    ({"EMBEDDER": "minilm", "EMBEDDER_MODEL": "bge-small"},
     f"configuration error: EMBEDDER_MODEL: EMBEDDER=minilm ships only the '{MODEL}' model (no download), "
     "got 'bge-small'; unset EMBEDDER_MODEL"),
])
def test_the_dimension_and_the_fusion_defaults_follow_the_embedder(env, line):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("EMBEDD", "DJANGO_", "SEARCH_"))}
    code = ("from django.conf import settings as s; "
            "print(s.EMBEDDER, s.EMBEDDER_MODEL, s.EMBEDDING_DIM, s.SEARCH_WEIGHTS['keyword'], s.SEARCH_RRF_K)")
    result = subprocess.run([sys.executable, "-W", "ignore", "manage.py", "shell", "-c", code], cwd=REPO,
                            env={**environment, **env}, capture_output=True, text=True, timeout=60)
    if line.startswith("configuration error"):
        assert result.returncode == 2 and result.stderr.strip() == line
    else:
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == line

"""textmodels/minilm_build.py: the fast build of the MiniLM export keeps its vectors and is cached once per machine."""

import copy

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper

from textmodels import minilm, minilm_build

TEXTS = ["how do I find which of my tests are the slowest",
         "pytest --durations=N shows the N slowest test durations at the end of the run",
         "Django's test runner creates a test database before running tests",
         "Neo4j stores the knowledge graph. " * 60, "!!!", "a"]


@pytest.fixture()
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "rag-data-layer"


def original_vectors(texts):
    """The wheel's own model, run as shipped (fp32 products, NaN guards kept): the reference."""
    fast = minilm._loaded()
    reference = copy.copy(fast)
    reference.session = onnxruntime.InferenceSession(str(minilm.model_file()), providers=["CPUExecutionProvider"])
    return reference.embed(texts), fast.embed(texts)


def test_the_fast_build_keeps_the_original_models_vectors():
    reference, fast = original_vectors(TEXTS)
    cosines = (reference * fast).sum(axis=1)
    # Prose keeps >= 0.99 (over 96 real chunks: min 0.991, mean 0.995); texts with next to no words drift more.
    assert cosines[:4].min() > 0.99 and cosines[4:].min() > 0.95, cosines


def test_the_build_quantizes_the_weight_products_and_drops_the_nan_guards(tmp_path):
    target = tmp_path / "fast.onnx"
    minilm_build.build(minilm.model_file(), target)
    kinds = {node.op_type for node in onnx.load(str(target)).graph.node}
    assert "IsNaN" not in kinds and {"DynamicQuantizeLinear", "MatMulInteger"} <= kinds


def test_it_is_built_once_and_reused_from_the_cache(cache, monkeypatch):
    first = minilm_build.prepared_model(minilm.model_file(), minilm.MODEL_SHA256)
    assert first.parent == cache and first.is_file() and not list(cache.glob(".building-*"))
    monkeypatch.setattr(minilm_build, "build_in_child", lambda *_: pytest.fail("rebuilt although cached"))
    assert minilm_build.prepared_model(minilm.model_file(), minilm.MODEL_SHA256) == first


def test_an_unwritable_cache_builds_in_memory(tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    prepared = minilm_build.prepared_model(minilm.model_file(), minilm.MODEL_SHA256)
    assert isinstance(prepared, bytes) and len(prepared) > 1_000_000


def test_a_build_that_fails_is_one_line(cache, tmp_path):
    not_a_model = tmp_path / "model.onnx"
    not_a_model.write_bytes(b"not a model")
    with pytest.raises(minilm_build.BuildFailed) as caught:
        minilm_build.prepared_model(not_a_model, "0" * 64)
    assert "\n" not in str(caught.value) and str(caught.value)
    assert not list(cache.glob("*.onnx")) and not list(cache.glob(".building-*"))


def test_a_damaged_cached_model_is_rebuilt(cache):
    damaged = cache / minilm_build.cached_name(minilm.MODEL_SHA256)
    cache.mkdir(parents=True)
    damaged.write_bytes(b"\x00 half a model")
    session = minilm._session(minilm.model_file())
    assert [i.name for i in session.get_inputs()] == ["input_ids", "attention_mask", "token_type_ids"]
    assert damaged.stat().st_size > 1_000_000


def test_only_a_nan_guard_over_a_softmax_is_removed():
    nodes = [
        helper.make_node("Softmax", ["x"], ["s"]),
        helper.make_node("IsNaN", ["s"], ["nan"]),
        helper.make_node("Where", ["nan", "zero", "s"], ["guarded"]),
        helper.make_node("Identity", ["guarded"], ["y"]),
        # A Where that is not a softmax guard stays, and so does an IsNaN something else reads.
        helper.make_node("IsNaN", ["x"], ["x_nan"]),
        helper.make_node("Where", ["x_nan", "zero", "x"], ["kept"]),
        helper.make_node("Not", ["x_nan"], ["x_ok"]),
        # A guard whose result is itself a graph output stays: no reader to rewire.
        helper.make_node("Softmax", ["x"], ["s2"]),
        helper.make_node("IsNaN", ["s2"], ["nan2"]),
        helper.make_node("Where", ["nan2", "zero", "s2"], ["out2"]),
    ]
    tensor = helper.make_tensor_value_info
    graph = helper.make_graph(nodes, "g", [tensor("x", TensorProto.FLOAT, [2])],
                              [tensor("y", TensorProto.FLOAT, [2]), tensor("kept", TensorProto.FLOAT, [2]),
                               tensor("x_ok", TensorProto.BOOL, [2]), tensor("out2", TensorProto.FLOAT, [2])],
                              [helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0])])
    assert minilm_build.remove_softmax_nan_guards(graph) == 1
    assert [node.op_type for node in graph.node] == ["Softmax", "Identity", "IsNaN", "Where", "Not", "Softmax", "IsNaN",
                                                     "Where"]
    assert graph.node[1].input == ["s"]
    model = helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 17)])
    session = onnxruntime.InferenceSession(model.SerializeToString(),
                                           providers=["CPUExecutionProvider"])
    assert np.allclose(session.run(["y"], {"x": np.array([1.0, 1.0], np.float32)})[0], [0.5, 0.5])

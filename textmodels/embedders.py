"""Pluggable embedders (setting EMBEDDER): wordllama (default), minilm (textmodels/minilm.py), hashing, any
OpenAI-compatible endpoint, sentence-transformers. Names, default models and vector sizes are in core/embedder_catalog.py.

- wordllama: a real semantic model (256 dimensions) whose weights and tokenizer ship inside the
  `wordllama` wheel: no network, no torch, ~1.6k chunks of 1,000 characters per second on one core. The
  model is loaded once per process, on first use.
- hashing (formerly `offline`, still accepted): no model at all; it hashes words, word pairs and
  character trigrams into EMBEDDING_DIM signed buckets (the "hashing trick"). It captures shared
  vocabulary and spelling, not meaning: good for tests and keyword-like corpora.

Every embedder has an `identity` ({embedder, model, dim}): the Milvus collection records the one that
built its vectors, and vectorstore refuses to search or write it with another (docs/embedders.md).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import threading
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from core.retry import call_with_retry
from core import embedder_catalog as catalog
from textmodels.errors import EmbedderError
from textmodels.openai_http import post_json

_WORD = re.compile(r"\w+", re.UNICODE)


def _normalised(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


@dataclass(frozen=True)
class HashingEmbedder:
    dim: int
    name: str = catalog.HASHING_MODEL
    kind = "hashing"

    @property
    def model(self) -> str:
        return self.name

    @property
    def identity(self) -> dict:
        return _identity(self)

    def _features(self, text: str) -> Counter:
        words = [w.lower() for w in _WORD.findall(text)]
        features = Counter(f"w:{w}" for w in words)
        features.update(f"b:{a} {b}" for a, b in zip(words, words[1:]))
        for word in words:
            padded = f"#{word}#"
            features.update(f"c:{padded[i:i + 3]}" for i in range(len(padded) - 2))
        return features

    def embed_one(self, text: str) -> list[float]:
        vector = [0.0] * self.dim
        for feature, count in self._features(text).items():
            digest = hashlib.blake2b(feature.encode(), digest_size=8).digest()
            bucket = int.from_bytes(digest[:4], "little") % self.dim
            sign = 1.0 if digest[4] & 1 else -1.0
            weight = (0.5 if feature[0] == "c" else 1.0) * (1.0 + math.log(count))
            vector[bucket] += sign * weight
        if not any(vector):  # empty or symbol-only text: a fixed unit vector keeps COSINE defined
            vector[0] = 1.0
        return _normalised(vector)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.embed_one(text) for text in texts]


OfflineHashingEmbedder = HashingEmbedder  # its name before EMBEDDER=hashing


@dataclass(frozen=True)
class WordLlamaEmbedder:
    """WordLlama's shipped l2_supercat model: token embeddings averaged, then normalised (cosine = dot)."""

    batch_size: int = 64
    model: str = catalog.WORDLLAMA_MODEL
    dim: int = catalog.WORDLLAMA_DIM
    kind = "wordllama"

    @property
    def name(self) -> str:
        return f"wordllama:{self.model}"

    @property
    def identity(self) -> dict:
        return _identity(self)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []
        import numpy as np

        vectors = _wordllama_model().embed(list(texts), norm=False, batch_size=self.batch_size)
        vectors = np.asarray(vectors, dtype=np.float64)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        empty = ~np.isfinite(norms[:, 0]) | (norms[:, 0] == 0)
        vectors = np.divide(vectors, norms, out=np.zeros_like(vectors), where=~empty[:, None])
        vectors[empty, 0] = 1.0  # empty or unknown-token-only text: a fixed unit vector keeps COSINE defined
        return [_checked_dim(vector, self.dim, self.model) for vector in vectors.tolist()]

    def embed_one(self, text: str) -> list[float]:
        return self.embed([text])[0]


_wordllama_lock = threading.Lock()
_wordllama_loaded = None


def _wordllama_model():
    """The shipped model, loaded once per process (0.2-0.3 s) and shared by every thread."""
    global _wordllama_loaded
    if _wordllama_loaded is None:
        with _wordllama_lock:
            if _wordllama_loaded is None:
                _wordllama_loaded = load_wordllama()
    return _wordllama_loaded


def load_wordllama():
    """Load the model from the files inside the wheel, never from the network.

    WordLlama.load() looks for the tokenizer under `<package>/tokenizer/` (singular) while the wheel ships
    it in `tokenizers/`, then tries to download it; with cache_dir=<package folder> (its cache layout is
    weights/ + tokenizers/) and disable_download=True it finds both shipped files.
    """
    from pathlib import Path

    try:
        import wordllama
        from wordllama import WordLlama
    except ImportError:
        raise EmbedderError("EMBEDDER=wordllama needs the package: pip install wordllama==0.4.0.post1") from None
    try:
        return WordLlama.load(config=catalog.WORDLLAMA_MODEL, cache_dir=Path(wordllama.__file__).parent,
                              disable_download=True)
    except Exception as error:  # a broken install: say what to do, not a traceback from the loader
        raise EmbedderError(f"could not load the wordllama model shipped in the package ({type(error).__name__}: "
                            f"{error}); reinstall it: pip install --force-reinstall wordllama==0.4.0.post1") from None


@dataclass(frozen=True)
class OpenAICompatibleEmbedder:
    """POST {url}/embeddings as the OpenAI API does; works with any server that speaks it."""

    url: str
    model: str
    dim: int
    timeout: float
    batch_size: int
    api_key: str = field(default="", repr=False)
    kind = "openai"

    @property
    def name(self) -> str:
        return f"openai-compatible:{self.model}"

    @property
    def identity(self) -> dict:
        return _identity(self)

    def _post(self, batch: list[str]) -> list[list[float]]:
        payload = post_json(self.url, "/embeddings", {"model": self.model, "input": batch}, api_key=self.api_key,
                            timeout=self.timeout, role="embedder", setting_prefix="EMBEDDER", model=self.model,
                            error_class=EmbedderError)
        try:
            rows = sorted(payload["data"], key=lambda row: row.get("index", 0))
            vectors = [[float(v) for v in row["embedding"]] for row in rows]
        except (KeyError, TypeError, ValueError):
            raise EmbedderError(f"the embedder at {self.url} answered without data[].embedding") from None
        if len(vectors) != len(batch):
            raise EmbedderError(f"the embedder returned {len(vectors)} vectors for {len(batch)} texts")
        return vectors

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start:start + self.batch_size])
            vectors.extend(call_with_retry("Embedder", self._post, batch))
        return [_checked_dim(vector, self.dim, self.model) for vector in vectors]


@dataclass(frozen=True)
class SentenceTransformersEmbedder:
    """A local sentence-transformers model (optional package; the model must be available offline)."""

    model: str
    dim: int
    batch_size: int
    kind = "sentence-transformers"

    @property
    def name(self) -> str:
        return f"sentence-transformers:{self.model}"

    @property
    def identity(self) -> dict:
        return _identity(self)

    @functools.cached_property
    def _model(self):
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise EmbedderError("EMBEDDER=sentence-transformers needs the package: "
                                "pip install sentence-transformers") from None
        return SentenceTransformer(self.model)

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True)
        return [_checked_dim([float(v) for v in vector], self.dim, self.model) for vector in vectors]


def _checked_dim(vector: list[float], dim: int, model: str) -> list[float]:
    if len(vector) != dim:
        raise EmbedderError(f"model {model!r} returns {len(vector)}-dimensional vectors but EMBEDDING_DIM is "
                            f"{dim}; set EMBEDDING_DIM={len(vector)} (and re-create the Milvus collection)")
    return vector


def _identity(embedder) -> dict:
    return catalog.identity(embedder.kind, embedder.model, embedder.dim)


def get_embedder():
    """The embedder the settings choose (cached per configuration: a model is loaded once per process)."""
    return _embedder(settings.EMBEDDER, settings.EMBEDDING_DIM, settings.EMBEDDER_URL, settings.EMBEDDER_MODEL,
                     settings.EMBEDDER_TIMEOUT, settings.EMBEDDER_BATCH_SIZE,
                     hashlib.sha256(settings.EMBEDDER_API_KEY.encode()).hexdigest())


def configured_identity() -> dict:
    """{embedder, model, dim} of the configured embedder, without loading any model."""
    return get_embedder().identity


@functools.lru_cache(maxsize=8)
def _embedder(kind, dim, url, model, timeout, batch_size, _key_fingerprint):
    canonical = catalog.canonical(kind)
    fixed = catalog.fixed_dim(canonical)
    if fixed is not None and dim != fixed:
        raise EmbedderError(f"EMBEDDER={canonical} makes {fixed}-dimensional vectors but EMBEDDING_DIM is {dim}; "
                            "unset EMBEDDING_DIM")
    if canonical == "openai":
        return OpenAICompatibleEmbedder(url=url, model=model, dim=dim, timeout=timeout, batch_size=batch_size,
                                        api_key=settings.EMBEDDER_API_KEY)
    if canonical == "sentence-transformers":
        return SentenceTransformersEmbedder(model=model, dim=dim, batch_size=batch_size)
    if canonical == "hashing":
        return HashingEmbedder(dim=dim)
    if canonical == "minilm":
        from textmodels.minilm import MiniLMEmbedder

        return MiniLMEmbedder()
    if canonical == "wordllama":
        return WordLlamaEmbedder(batch_size=batch_size)
    raise EmbedderError(f"unknown EMBEDDER {kind!r}; expected one of {', '.join(catalog.EMBEDDERS)}")

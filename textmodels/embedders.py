"""Pluggable embedders (setting EMBEDDER): offline hashing, any OpenAI-compatible endpoint, sentence-transformers.

The offline embedder needs no model download: it hashes words, word pairs and character trigrams into
EMBEDDING_DIM signed buckets (the "hashing trick"). It captures shared vocabulary and spelling, not
meaning: good for tests, demos, air-gapped set-ups and keyword-like corpora; use a real model for
semantic search.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.conf import settings

from core.retry import call_with_retry
from textmodels.openai_http import post_json

_WORD = re.compile(r"\w+", re.UNICODE)


class EmbedderError(Exception):
    """The embedder is misconfigured or answered something unusable; the message says what to fix."""


def _normalised(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(v * v for v in vector))
    return [v / norm for v in vector] if norm else vector


@dataclass(frozen=True)
class OfflineHashingEmbedder:
    dim: int
    name: str = "offline-hashing-v1"

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


@dataclass(frozen=True)
class OpenAICompatibleEmbedder:
    """POST {url}/embeddings as the OpenAI API does; works with any server that speaks it."""

    url: str
    model: str
    dim: int
    timeout: float
    batch_size: int
    api_key: str = field(default="", repr=False)

    @property
    def name(self) -> str:
        return f"openai-compatible:{self.model}"

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

    @property
    def name(self) -> str:
        return f"sentence-transformers:{self.model}"

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


def get_embedder():
    """The embedder the settings choose (cached per configuration)."""
    return _embedder(settings.EMBEDDER, settings.EMBEDDING_DIM, settings.EMBEDDER_URL, settings.EMBEDDER_MODEL,
                     settings.EMBEDDER_TIMEOUT, settings.EMBEDDER_BATCH_SIZE,
                     hashlib.sha256(settings.EMBEDDER_API_KEY.encode()).hexdigest())


@functools.lru_cache(maxsize=8)
def _embedder(kind, dim, url, model, timeout, batch_size, _key_fingerprint):
    if kind == "openai":
        return OpenAICompatibleEmbedder(url=url, model=model, dim=dim, timeout=timeout, batch_size=batch_size,
                                        api_key=settings.EMBEDDER_API_KEY)
    if kind == "sentence-transformers":
        return SentenceTransformersEmbedder(model=model, dim=dim, batch_size=batch_size)
    return OfflineHashingEmbedder(dim=dim)

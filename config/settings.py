"""Settings for the RAG data layer: every value from the environment, validated at import time.

Local defaults match the local stack (`make stack-up`); DJANGO_ENV=production makes secrets
mandatory and turns DEBUG off by default. See docs/configuration.md for every variable.
"""

import os
from pathlib import Path

from config import env as cfg
from core import embedder_catalog, logs

BASE_DIR = Path(__file__).resolve().parent.parent

_env_file = BASE_DIR / ".env"
if _env_file.exists():
    import environ

    environ.Env.read_env(_env_file)

_read = cfg.EnvReader(os.environ)

DJANGO_ENV = _read.str("DJANGO_ENV", "local").lower()
if DJANGO_ENV not in ("local", "production"):
    raise cfg.ConfigError("DJANGO_ENV", f"expected local or production, got {DJANGO_ENV!r}")
PRODUCTION = DJANGO_ENV == "production"

# --- Secrets: in production each must be given (or NAME_FILE) and strong; one error lists every problem ---
SECRET_KEY = _read.secret("DJANGO_SECRET_KEY", "local-only-insecure-key-not-for-production", PRODUCTION)
DATABASES = {"default": _read.database("DATABASE_URL", cfg.LOCAL_DEFAULTS["DATABASE_URL"])}
cfg.check_database_secret(_read, DATABASES["default"], PRODUCTION)
NEO4J_PASSWORD = _read.secret("NEO4J_PASSWORD", cfg.LOCAL_DEFAULTS["NEO4J_PASSWORD"], PRODUCTION)
# Bootstrap bearer key for /api/* (all scopes), local mode only, beside the per-client keys of `manage.py api_key`
# (docs/api.md): empty turns API auth off (a valid key sent is still used); production refuses to start with it.
API_TOKEN = _read.local_secret("API_TOKEN", PRODUCTION)
MILVUS_TOKEN = _read.secret("MILVUS_TOKEN", "", PRODUCTION, required=False)  # only when Milvus auth is on
# Lets any client read /metrics (docs/operations.md, "Metrics"); optional, but strong when set in production.
METRICS_TOKEN = _read.secret("METRICS_TOKEN", "", PRODUCTION, required=False)
_read.raise_problems()

DEBUG = _read.bool("DJANGO_DEBUG", not PRODUCTION)
ALLOWED_HOSTS = _read.list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "procrastinate.contrib.django",  # the job queue's tables (migrations), admin and `manage.py procrastinate`
    "rag_data",
    "vectorstore",
    "graphstore",
    "jobs",  # before ingestion: its `ingest` command (with --enqueue) replaces ingestion's
    "ingestion",
    "retrieval",
    "stores",
    "observability",
    "apikeys",
    "api",
    "ninja",  # serves the API docs page's assets (Swagger UI) from its own static files: no CDN
    "django_ratelimit",  # its system checks look at the rate-limit cache
    "drift",
    "health_check",  # after stores, whose `health_check` command replaces the library's
]

MIDDLEWARE = [
    "observability.middleware.RequestIdMiddleware",  # first: the request id covers every later log line
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- PostgreSQL (relational app data) -------------------------------------------------------
DATABASES["default"].setdefault("OPTIONS", {})
DATABASES["default"]["OPTIONS"].setdefault(
    "connect_timeout", _read.int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1, maximum=300)
)
DATABASES["default"]["CONN_MAX_AGE"] = _read.int("DATABASE_CONN_MAX_AGE", 60, minimum=0)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Milvus (vectors) ------------------------------------------------------------------------
MILVUS_URI = cfg.milvus_uri(_read, "MILVUS_URI", cfg.LOCAL_DEFAULTS["MILVUS_URI"], BASE_DIR)
MILVUS_COLLECTION = cfg.collection_name(_read, "MILVUS_COLLECTION", "knowledge_chunks")
MILVUS_INDEX_TYPE = _read.choice("MILVUS_INDEX_TYPE", "HNSW", cfg.MILVUS_INDEX_TYPES)
MILVUS_METRIC_TYPE = _read.choice("MILVUS_METRIC_TYPE", "COSINE", cfg.MILVUS_METRIC_TYPES)
MILVUS_TIMEOUT = _read.float("MILVUS_TIMEOUT", 10.0, minimum=0.1, maximum=600)

# --- Neo4j (knowledge graph) -----------------------------------------------------------------
NEO4J_URI = cfg.neo4j_uri(_read, "NEO4J_URI", cfg.LOCAL_DEFAULTS["NEO4J_URI"])
NEO4J_USER = _read.str("NEO4J_USER", cfg.LOCAL_DEFAULTS["NEO4J_USER"])
NEO4J_DATABASE = _read.str("NEO4J_DATABASE", "neo4j")
NEO4J_TIMEOUT = _read.float("NEO4J_TIMEOUT", 10.0, minimum=0.1, maximum=600)

# --- Namespace: what this deployment owns on shared servers (docs/graph.md) -----------------
# Scopes every node and relationship this deployment writes in Neo4j (community edition has one database),
# and so every graph read, reconcile, delete and test clean-up. Milvus is scoped by MILVUS_COLLECTION and
# PostgreSQL by DATABASE_URL; the namespace defaults to the collection name, so one setting separates two
# deployments. Two deployments sharing a Neo4j server must have different namespaces.
RAG_NAMESPACE = cfg.namespace(_read, "RAG_NAMESPACE", MILVUS_COLLECTION)

# --- Retry policy shared by every store client (config/retry.py) -----------------------------
STORE_RETRY_ATTEMPTS = _read.int("STORE_RETRY_ATTEMPTS", 5, minimum=1, maximum=100)
STORE_RETRY_MAX_SECONDS = _read.float("STORE_RETRY_MAX_SECONDS", 30.0, minimum=0.0, maximum=3600)
STORE_RETRY_INITIAL_WAIT = _read.float("STORE_RETRY_INITIAL_WAIT", 0.2, minimum=0.0, maximum=60)
STORE_RETRY_MAX_WAIT = _read.float("STORE_RETRY_MAX_WAIT", 5.0, minimum=0.0, maximum=600)

# --- Ingestion and retrieval ------------------------------------------------------
# The embedder is part of the data: the Milvus collection records which one built it (docs/embedders.md).
_embedder_given = _read.str("EMBEDDER", "wordllama")
EMBEDDER = embedder_catalog.canonical(_embedder_given)
if EMBEDDER is None:
    raise cfg.ConfigError("EMBEDDER", "expected wordllama, hashing (formerly offline), openai or sentence-transformers, "
                          f"got {_embedder_given!r}")
EMBEDDER_URL = cfg.http_url(_read, "EMBEDDER_URL", "", required=EMBEDDER == "openai")
EMBEDDER_API_KEY = _read.raw("EMBEDDER_API_KEY", "")
EMBEDDER_MODEL = _read.str("EMBEDDER_MODEL", "") or embedder_catalog.DEFAULT_MODELS[EMBEDDER]
if EMBEDDER == "wordllama" and EMBEDDER_MODEL != embedder_catalog.WORDLLAMA_MODEL:
    raise cfg.ConfigError("EMBEDDER_MODEL", f"EMBEDDER=wordllama ships only the {embedder_catalog.WORDLLAMA_MODEL!r} "
                          f"model (no download), got {EMBEDDER_MODEL!r}; unset EMBEDDER_MODEL")
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
EXTRACTOR_URL = cfg.http_url(_read, "EXTRACTOR_URL", "", required=EXTRACTOR == "llm")
EXTRACTOR_API_KEY = _read.raw("EXTRACTOR_API_KEY", "")
EXTRACTOR_MODEL = _read.str("EXTRACTOR_MODEL", "gpt-4o-mini")
EXTRACTOR_MAX_CONCEPTS = _read.int("EXTRACTOR_MAX_CONCEPTS", 12, minimum=1, maximum=200)
CHUNK_SIZE = _read.int("CHUNK_SIZE", 1000, minimum=50, maximum=60000)
CHUNK_OVERLAP = _read.int("CHUNK_OVERLAP", 150, minimum=0, maximum=CHUNK_SIZE - 1)
INGEST_MAX_FILE_BYTES = _read.int("INGEST_MAX_FILE_BYTES", 10 * 1024 * 1024, minimum=1)
INGEST_GROUP_SIZE = _read.int("INGEST_GROUP_SIZE", 64, minimum=1, maximum=10_000)
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
SEARCH_WEIGHTS = {
    "vector": _read.float("SEARCH_WEIGHT_VECTOR", 1.0, minimum=0.0, maximum=100),
    "graph": _read.float("SEARCH_WEIGHT_GRAPH", 0.25, minimum=0.0, maximum=100),
    "keyword": _read.float("SEARCH_WEIGHT_KEYWORD", 3.0, minimum=0.0, maximum=100),
}
# Reciprocal rank fusion constant: score = weight / (SEARCH_RRF_K + rank). Small values favour each leg's top
# ranks; 0 (with keyword weight 3) was chosen on the dev sets (docs/evaluation.md), 60 is the textbook value.
SEARCH_RRF_K = _read.float("SEARCH_RRF_K", 0.0, minimum=0.0, maximum=1000)
# Candidates each source fetches for fusion: max(2k, SEARCH_POOL_MIN). Tuned on the dev sets (docs/evaluation.md).
SEARCH_POOL_MIN = _read.int("SEARCH_POOL_MIN", 20, minimum=1, maximum=1000)
# At most this many chunks of one document in the fused results (0: no limit).
SEARCH_MAX_CHUNKS_PER_DOCUMENT = _read.int("SEARCH_MAX_CHUNKS_PER_DOCUMENT", 1, minimum=0, maximum=1000)
# Keyword leg: frequent words find candidates only while they are estimated to match at most this many chunks
# (rarer words always do; every word still ranks). Bounds the rows ranked per query; 0: every word matches.
SEARCH_KEYWORD_CANDIDATES = _read.int("SEARCH_KEYWORD_CANDIDATES", 500, minimum=0, maximum=10_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = _read.int("API_MAX_BODY_BYTES", 1024 * 1024, minimum=1024)
# Requests per key (per client address without a key) on /api/*, e.g. 120/m; empty = no limit.
API_RATE_LIMIT = cfg.rate(_read, "API_RATE_LIMIT", "120/m")
# Where the rate-limit counters live: shared by every process. Empty = PostgreSQL (apikeys/ratecache.py,
# atomic); else a cache URL (redis://..., pymemcache://...) whose client library you install.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    "ratelimit": cfg.cache_url(_read, "API_RATE_LIMIT_CACHE_URL") or {
        "BACKEND": "apikeys.ratecache.PostgresCounterCache", "TIMEOUT": None},
}
RATELIMIT_USE_CACHE = "ratelimit"
# django-ratelimit warns about every backend it does not know (W001); apikeys.ratecache is atomic and shared
# (its tests count concurrent increments), and the ones it knows to be broken stay errors (E003).
SILENCED_SYSTEM_CHECKS = ["django_ratelimit.W001"]

# --- Jobs: the queue of ingest/delete/reconcile/reembed work (procrastinate on PostgreSQL, docs/jobs.md) -------
# The largest document the API accepts (an upload's bytes are kept in PostgreSQL until its job has run).
DOCUMENT_MAX_BYTES = _read.int("DOCUMENT_MAX_BYTES", min(10 * 1024 * 1024, INGEST_MAX_FILE_BYTES), minimum=1)
if DOCUMENT_MAX_BYTES > INGEST_MAX_FILE_BYTES:
    raise cfg.ConfigError("DOCUMENT_MAX_BYTES", f"must be at most INGEST_MAX_FILE_BYTES ({INGEST_MAX_FILE_BYTES}), "
                          f"got {DOCUMENT_MAX_BYTES}: ingest would skip what the API accepted")
# A job that failed because a store was unreachable is retried this many times, waiting initial x 2^n (capped).
JOBS_RETRY_ATTEMPTS = _read.int("JOBS_RETRY_ATTEMPTS", 5, minimum=0, maximum=100)
JOBS_RETRY_INITIAL_WAIT = _read.float("JOBS_RETRY_INITIAL_WAIT", 2.0, minimum=0.0, maximum=3600)
JOBS_RETRY_MAX_WAIT = _read.float("JOBS_RETRY_MAX_WAIT", 300.0, minimum=0.0, maximum=86400)
# Jobs one worker runs at once (each in its own thread, with its own PostgreSQL connection).
JOBS_WORKER_CONCURRENCY = _read.int("JOBS_WORKER_CONCURRENCY", 1, minimum=1, maximum=64)
# Workers beat every JOBS_HEARTBEAT_SECONDS; one silent for JOBS_STALLED_SECONDS is dead (killed, machine lost),
# and its running jobs are put back in the queue by the stalled-jobs check, run every JOBS_STALLED_CHECK_CRON.
JOBS_HEARTBEAT_SECONDS = _read.float("JOBS_HEARTBEAT_SECONDS", 10.0, minimum=0.1, maximum=3600)
JOBS_STALLED_SECONDS = _read.float("JOBS_STALLED_SECONDS", 60.0, minimum=0.5, maximum=86400)
if JOBS_STALLED_SECONDS < 3 * JOBS_HEARTBEAT_SECONDS:
    raise cfg.ConfigError("JOBS_STALLED_SECONDS", f"must be at least 3 x JOBS_HEARTBEAT_SECONDS "
                          f"({3 * JOBS_HEARTBEAT_SECONDS:g}s), got {JOBS_STALLED_SECONDS:g}s: a live worker would be "
                          "taken for dead")
JOBS_STALLED_CHECK_CRON = cfg.cron(_read, "JOBS_STALLED_CHECK_CRON", "* * * * *")
# The periodic drift check (the reconcile comparison, dry run) that records a drift report.
DRIFT_CHECK_CRON = cfg.cron(_read, "DRIFT_CHECK_CRON", "*/5 * * * *")
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": JOBS_WORKER_CONCURRENCY,
    "update_heartbeat_interval": JOBS_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": JOBS_STALLED_SECONDS,
}

# --- Health checks ---------------------------------------------------------------------------
HEALTH_CHECK_TIMEOUT = _read.float("HEALTH_CHECK_TIMEOUT", 3.0, minimum=0.1, maximum=120)
# Checks that can only warn (status "warn", HTTP 200), listed after the three stores' (stores.health).
HEALTH_WARNING_CHECKS = ("drift.health.DriftCheck",)

# --- Online drift check (docs/drift.md; DRIFT_CHECK_CRON, when the job queue runs it, is with the jobs) --
# /health/ warns when the latest report counts more drift than this.
DRIFT_WARN_THRESHOLD = _read.int("DRIFT_WARN_THRESHOLD", 0, minimum=0)
# ... or is older than this (a few check intervals: the periodic check is not running).
DRIFT_STALE_SECONDS = _read.int("DRIFT_STALE_SECONDS", 900, minimum=1)
# A document written (or left pending/failed/deleting) within this many seconds is not drift yet.
DRIFT_GRACE_SECONDS = _read.int("DRIFT_GRACE_SECONDS", 300, minimum=0)
# Reports kept (older ones are deleted by each check): 288 is one day at one check every 5 minutes.
DRIFT_KEEP_REPORTS = _read.int("DRIFT_KEEP_REPORTS", 288, minimum=1, maximum=1_000_000)

# --- Django ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# `manage.py collectstatic` writes here (the image does it at build); with DEBUG off WhiteNoise serves it,
# compressed and under content-hashed names (cached for a year), so no proxy rule is needed for /static/.
STATIC_ROOT = cfg.directory(_read, "DJANGO_STATIC_ROOT", "staticfiles", BASE_DIR)
if not DEBUG:
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

# --- Metrics (docs/operations.md, "Metrics") --------------------------------------------------
# /metrics answers clients in these addresses/networks (direct connections only), or any client sending
# `Authorization: Bearer <METRICS_TOKEN>` when the token is set (METRICS_TOKEN is read with the secrets, above).
METRICS_ALLOWED_IPS = cfg.ip_networks(_read, "METRICS_ALLOWED_IPS", ["127.0.0.1/32", "::1/128"])

# --- Logs (docs/operations.md, "Logs") --------------------------------------------------------
# One line per record with time, level, logger and request id: JSON (for a log pipeline) by default in
# production, readable text locally. Every record passes through one handler on the root logger; Django's own
# handlers are removed (they printed some lines a second time), so each line is written once.
LOG_FORMAT = (_read.str("LOG_FORMAT", "") or ("json" if PRODUCTION else "text")).lower()  # empty = unset
if LOG_FORMAT not in ("json", "text"):
    raise cfg.ConfigError("LOG_FORMAT", f"expected json or text, got {LOG_FORMAT!r}")
LOG_LEVEL = _read.choice("LOG_LEVEL", "INFO", ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact_secrets": {"()": "core.redact.RedactingFilter"},
        "request_id": {"()": "core.logs.RequestIdFilter"},
        # the job worker logs a failed job with its traceback: one line instead (jobs record the reason)
        "one_line_job_errors": {"()": "core.redact.OneLineErrorFilter"},
    },
    "formatters": {"default": {"()": logs.formatter_for(LOG_FORMAT)}},
    "handlers": {"console": {"class": "logging.StreamHandler",
                             "filters": ["request_id", "one_line_job_errors", "redact_secrets"],
                             "formatter": "default"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        # Django's default config gives these loggers handlers of their own, and "django" also propagates to
        # the root: its records ("Not Found: ...") were printed twice. Here they only propagate.
        "django": {"handlers": [], "level": "INFO", "propagate": True},
        # runserver's access lines: observability.middleware writes one line per request (with its id) instead.
        "django.server": {"handlers": [], "level": "ERROR", "propagate": True},
        # "Not Found: /x", "Forbidden: /y": the request line already says so; server errors (5xx) still log here.
        "django.request": {"level": "ERROR"},
        # The drivers log connection URIs and retries at DEBUG/INFO; keep them quiet by default.
        "neo4j": {"level": "WARNING"},
        # The server's query notifications ("label does not exist" on an empty graph...) are not problems.
        "neo4j.notifications": {"level": "ERROR"},
        "pymilvus": {"level": "WARNING"},
        # pymilvus logs every failed RPC at ERROR with a full traceback, then raises; store clients turn the
        # raised error into one line, so the traceback is a wall of noise in command output.
        "pymilvus.decorators": {"level": "CRITICAL"},
        "milvus_lite": {"level": "WARNING"},
        # Milvus Lite logs a traceback when it cannot open its file (held by another process, ...) and returns
        # nothing; vectorstore.client finds the reason itself and says it in one line.
        "milvus_lite.server_manager": {"level": "CRITICAL"},
        "faiss": {"level": "WARNING"},  # Milvus Lite's vector library announces its CPU kernels at INFO
        # Milvus Lite's in-process gRPC server logs a traceback for RPCs it does not implement
        # (AllocTimestamp, which pymilvus 3 probes); the client handles the answer, so it is noise.
        "grpc._server": {"level": "CRITICAL"},
        # django-health-check logs a traceback per failing check; core.health logs one line instead.
        "health_check": {"level": "ERROR"},
        # The job queue announces its tasks in every process that starts Django; the worker's own log (jobs
        # started and ended) stays at INFO.
        "procrastinate": {"level": "WARNING"},
        "procrastinate.worker": {"level": "INFO"},
    },
}

# --- HTTPS behind a TLS-terminating proxy (docs/production.md) ------------------------------------
# The proxy terminates TLS and sets X-Forwarded-Proto (overwriting what the client sent); the app's port
# must be reachable only by it. Then request.is_secure() is true for HTTPS clients, the admin's CSRF origin
# check passes, and the SSL redirect does not loop.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if _read.bool("DJANGO_BEHIND_TLS_PROXY", PRODUCTION) else None
CSRF_TRUSTED_ORIGINS = cfg.origins(_read, "DJANGO_CSRF_TRUSTED_ORIGINS")  # e.g. https://rag.example.com
SECURE_SSL_REDIRECT = _read.bool("DJANGO_SSL_REDIRECT", PRODUCTION)
# Container/Kubernetes probes, load balancer health checks and a metrics scraper call the app directly over
# plain HTTP (no proxy, no X-Forwarded-Proto): redirecting them to https:// would fail every probe.
SECURE_REDIRECT_EXEMPT = [r"^health/", r"^metrics/?$"]
SECURE_HSTS_SECONDS = _read.int("DJANGO_HSTS_SECONDS", 31536000, minimum=0) if PRODUCTION else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = _read.bool("DJANGO_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _read.bool("DJANGO_HSTS_PRELOAD", False)
if SECURE_HSTS_SECONDS and not SECURE_HSTS_PRELOAD:
    # Preload-list submission binds the whole domain for months: the domain owner's decision, opt-in only.
    SILENCED_SYSTEM_CHECKS = [*SILENCED_SYSTEM_CHECKS, "security.W021"]
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = _read.bool("DJANGO_SECURE_COOKIES", True) if PRODUCTION else False

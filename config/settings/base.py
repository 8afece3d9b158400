"""The settings every process needs first: the environment (and .env), secrets, apps, middleware, Django's own.

DJANGO_ENV=production makes secrets mandatory and turns DEBUG off by default; every secret problem is
reported in one error. The other modules of this package read their own concern's variables after this one.
"""

import os
from pathlib import Path

from config import env as cfg
from config import env_values as values

BASE_DIR = Path(__file__).resolve().parent.parent.parent

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

# --- Django ---------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
# `manage.py collectstatic` writes here (the image does it at build); with DEBUG off WhiteNoise serves it,
# compressed and under content-hashed names (cached for a year), so no proxy rule is needed for /static/.
STATIC_ROOT = values.directory(_read, "DJANGO_STATIC_ROOT", "staticfiles", BASE_DIR)
if not DEBUG:
    MIDDLEWARE.insert(MIDDLEWARE.index("django.middleware.security.SecurityMiddleware") + 1,
                      "whitenoise.middleware.WhiteNoiseMiddleware")
    STORAGES = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }

"""Logs: one line per record, JSON or text, with the request id, secrets redacted (docs/operations.md, "Logs")."""

import os

from config import env as cfg
from config.settings.base import PRODUCTION
from core import logs

_read = cfg.EnvReader(os.environ)  # the environment, with .env read by config.settings.base

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
        # pymilvus 2.5's query_iterator warns on Milvus Lite 2.5 that it uses a client-side timestamp (Lite has no
        # AllocTimestamp): reembed and reconcile page with it there, and the fallback is what Lite needs.
        "pymilvus.orm.iterator": {"level": "ERROR"},
        # pymilvus 2.5 logs "Failed to create new connection using: <uri>" before raising; vectorstore.client
        # says why in one line.
        "pymilvus.milvus_client._utils": {"level": "CRITICAL"},
        # pymilvus 3 logs "Failed to query collection: <name>" (and the like) at ERROR before raising the same error.
        "pymilvus.milvus_client.milvus_client": {"level": "CRITICAL"},
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

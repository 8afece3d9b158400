"""gunicorn settings for the app image (GUNICORN_CMD_ARGS still adds to or overrides them).

worker_exit closes what the worker's stores opened (the Milvus channel, the Neo4j driver's pool, idle
PostgreSQL connections) even when a worker is stopped in a way that skips atexit.

Metrics with several workers (prometheus-client's multiprocess mode, docs/operations.md "Metrics"): every
worker writes its samples to files in PROMETHEUS_MULTIPROC_DIR and /metrics, answered by any worker, adds up
all of them. The directory is chosen here, in the master, before any worker forks (a fresh temporary one
unless the environment names one), emptied when the master starts (samples of an earlier run would otherwise
be added in), and a dead worker's live gauges are dropped (child_exit).

Logs: gunicorn's own lines use the app's format (core.logs: JSON in production, text locally; LOG_FORMAT);
the access log is off because the app writes one line per request itself, with its request id
(observability.middleware).
"""

import os
import shutil
import tempfile

_multiproc_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
_own_dir = not _multiproc_dir
if _own_dir:
    _multiproc_dir = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="rag-metrics-")

_log_format = (os.environ.get("LOG_FORMAT") or
               ("json" if os.environ.get("DJANGO_ENV", "local").strip().lower() == "production" else "text"))
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"app": {"()": {"json": "core.logs.JsonFormatter"}.get(_log_format, "core.logs.TextFormatter")}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "app", "stream": "ext://sys.stderr"}},
    "loggers": {
        "gunicorn.error": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}


def on_starting(server):
    """Empty the metrics directory: samples of an earlier run of the server must not be added in."""
    os.makedirs(_multiproc_dir, exist_ok=True)
    for name in os.listdir(_multiproc_dir):
        path = os.path.join(_multiproc_dir, name)
        if os.path.isdir(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)


def on_exit(server):
    if _own_dir:
        shutil.rmtree(_multiproc_dir, ignore_errors=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid, _multiproc_dir)


def worker_exit(server, worker):
    from stores.lifecycle import close_opened_clients  # the worker's Django is set up by now

    close_opened_clients()

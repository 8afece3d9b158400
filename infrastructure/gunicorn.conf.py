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


def post_worker_init(worker):
    """Do before the first request what it would otherwise wait for: import the URL conf (every app's views) and
    load the embedder's model. A new worker (the first start, and every max_requests restart) otherwise answers
    its first searches seconds late (bench/load.py: p99 1.8 s with one cold worker). A failure here is logged in
    one line and left to the request that meets it."""
    import logging

    try:
        from django.urls import get_resolver

        from textmodels.embedders import get_embedder

        get_resolver().url_patterns  # noqa: B018 (a cached property: imports config.urls and the views)
        get_embedder().embed(["warm-up"])
    except Exception as error:  # noqa: BLE001 (the worker still serves; the request that needs it reports it)
        logging.getLogger("gunicorn.error").warning("worker warm-up failed: %s: %s", type(error).__name__, error)


def worker_exit(server, worker):
    from stores.lifecycle import close_opened_clients  # the worker's Django is set up by now

    close_opened_clients()


# --- Server settings (docs/production.md "Timeouts"); each may be overridden from the environment ---------
# The image's CMD and docker-compose.prod.yml rely on these; GUNICORN_CMD_ARGS still overrides any of them.


def _number(name, default):
    text = os.environ.get(name, "").strip()
    return int(text) if text else default


bind = os.environ.get("GUNICORN_BIND", "").strip() or "0.0.0.0:8000"
# gthread: each worker process serves `threads` requests at once; a search waits on three stores (I/O),
# so threads overlap the waits while the processes use the cores. Our subclass of it drains: a worker that stops
# (max_requests, SIGTERM) first answers what its kept-alive connections already sent (gthread dropped those
# requests: a broken pipe for the client, a 502 behind the proxy; infrastructure/gunicorn_worker.py).
worker_class = "infrastructure.gunicorn_worker.DrainingThreadWorker"
workers = _number("GUNICORN_WORKERS", 3)
threads = _number("GUNICORN_THREADS", 4)
# A worker silent for this long is killed and replaced. Below the proxy's upstream timeout (60 s in
# infrastructure/proxy/Caddyfile), so that gunicorn, not the proxy, ends a stuck request; above
# SEARCH_TIMEOUT (30 s), so that a slow search still gets its own 503 first.
timeout = _number("GUNICORN_TIMEOUT", 50)
# On SIGTERM workers finish their requests for at most this long: shorter than compose's stop_grace_period
# (40 s for the app), after which Docker sends SIGKILL.
graceful_timeout = _number("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Idle keep-alive connections from the proxy are kept this long (the proxy reuses them).
keepalive = _number("GUNICORN_KEEPALIVE", 5)
# Who may set X-Forwarded-For/-Proto: the proxy. In compose the app's port is reachable only on the
# internal network (the proxy is the only client), hence "*"; elsewhere name the proxy's address.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "").strip() or "127.0.0.1,::1"
# Workers restart after this many requests (plus jitter) to bound slow leaks; 0 turns it off.
max_requests = _number("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

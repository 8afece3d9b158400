"""The job queue (procrastinate on PostgreSQL) and the online drift check it runs."""

import os

from config import env as cfg
from config import env_values as values
from config.settings.ingestion import INGEST_MAX_FILE_BYTES

_read = cfg.EnvReader(os.environ)  # the environment, with .env read by config.settings.base

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
JOBS_STALLED_CHECK_CRON = values.cron(_read, "JOBS_STALLED_CHECK_CRON", "* * * * *")
# The periodic drift check (the reconcile comparison, dry run) that records a drift report.
DRIFT_CHECK_CRON = values.cron(_read, "DRIFT_CHECK_CRON", "*/5 * * * *")
PROCRASTINATE_WORKER_DEFAULTS = {
    "concurrency": JOBS_WORKER_CONCURRENCY,
    "update_heartbeat_interval": JOBS_HEARTBEAT_SECONDS,
    "stalled_worker_timeout": JOBS_STALLED_SECONDS,
}

# --- Online drift check (docs/drift.md; DRIFT_CHECK_CRON, when the job queue runs it, is with the jobs) --
# /health/ warns when the latest report counts more drift than this.
DRIFT_WARN_THRESHOLD = _read.int("DRIFT_WARN_THRESHOLD", 0, minimum=0)
# ... or is older than this (a few check intervals: the periodic check is not running).
DRIFT_STALE_SECONDS = _read.int("DRIFT_STALE_SECONDS", 900, minimum=1)
# A document written (or left pending/failed/deleting) within this many seconds is not drift yet.
DRIFT_GRACE_SECONDS = _read.int("DRIFT_GRACE_SECONDS", 300, minimum=0)
# Reports kept (older ones are deleted by each check): 288 is one day at one check every 5 minutes.
DRIFT_KEEP_REPORTS = _read.int("DRIFT_KEEP_REPORTS", 288, minimum=1, maximum=1_000_000)

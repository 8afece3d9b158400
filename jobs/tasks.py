"""The queue's tasks (procrastinate, found by its Django autodiscovery of `tasks` modules): names, retries, schedules.

Thin: each task runs its work from jobs/runner.py, imported inside the task so that starting Django (the
web server, the admin) does not load the store drivers. Every task retries only store outages
(jobs/retrying.py). Document tasks are deferred with `lock="document:<id>"` (jobs/services.py): one at a
time per document, in queue order.
"""

from __future__ import annotations

from django.conf import settings
from procrastinate.contrib.django import app

from jobs.retrying import JobFailed, StoreOutageRetry

RETRY = StoreOutageRetry()
MAINTENANCE_PRIORITY = 10  # before any queued document job (higher runs first): recovery must not wait for a batch


@app.task(name="jobs.ingest_upload", pass_context=True, retry=RETRY)
def ingest_upload(context, *, upload_id: int, document_id: str, chunk_size: int | None = None,
                  chunk_overlap: int | None = None) -> dict:
    from jobs import runner

    return runner.run(context.job.id, "ingest", document_id, lambda: runner.ingest_uploaded(
        upload_id, document_id, chunk_size=chunk_size, chunk_overlap=chunk_overlap))


@app.task(name="jobs.delete_document", pass_context=True, retry=RETRY)
def delete_document(context, *, document_id: str) -> dict:
    from jobs import runner

    return runner.run(context.job.id, "delete", document_id, lambda: runner.delete(document_id))


@app.task(name="jobs.reconcile", pass_context=True, retry=RETRY, lock="reconcile", queueing_lock="reconcile")
def reconcile(context, *, repair: bool = True) -> dict:
    from jobs import runner

    return runner.run(context.job.id, "reconcile", "", lambda: runner.reconcile_stores(repair))


@app.task(name="jobs.reembed", pass_context=True, retry=RETRY, lock="reembed", queueing_lock="reembed")
def reembed(context) -> dict:
    from jobs import runner

    return runner.run(context.job.id, "reembed", "", runner.reembed_vectors)


@app.periodic(cron=settings.JOBS_STALLED_CHECK_CRON, periodic_id="stalled")
@app.task(name="jobs.retry_stalled_jobs", pass_context=True, queueing_lock="retry_stalled_jobs",
          priority=MAINTENANCE_PRIORITY)
async def retry_stalled_jobs(context, timestamp: int) -> dict:
    """Jobs left `doing` by a worker whose heartbeat stopped (killed, machine lost) go back to the queue."""
    manager = context.app.job_manager
    stalled = await manager.get_stalled_jobs(seconds_since_heartbeat=settings.JOBS_STALLED_SECONDS)
    retried = []
    for job in stalled:
        await manager.retry_job(job)
        retried.append(job.id)
    return {"retried": retried}


@app.periodic(cron=settings.DRIFT_CHECK_CRON, periodic_id="drift")
@app.task(name="jobs.drift_check", pass_context=True, queueing_lock="drift_check", priority=MAINTENANCE_PRIORITY,
          retry=RETRY)
def drift_check(context, timestamp: int) -> dict:
    """The periodic drift check (the reconcile comparison, a dry run, recorded as a drift report)."""
    from jobs import runner

    def check() -> dict:
        try:
            from drift.services import run_drift_check  # the drift app (docs/jobs.md); imported when it runs
        except ImportError:
            raise JobFailed("no drift check to run: the drift app is not installed") from None

        report = run_drift_check()
        return {"report": report.pk, "total": report.total, "error": report.error}

    return runner.run(context.job.id, "drift_check", "", check)

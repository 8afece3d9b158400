"""Reads of the queue: one job as the API shows it, the jobs of a document.

Status is procrastinate's: `todo` (queued, or waiting for a retry when attempts > 0), `doing`, `succeeded`,
`failed`, `cancelled`, `aborted`. Times come from procrastinate's events; the error (one redacted line) and
the result from jobs.models.JobOutcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from procrastinate.contrib.django.models import ProcrastinateEvent, ProcrastinateJob

from jobs.models import JobOutcome

TASKS = {"jobs.ingest_upload": "ingest", "jobs.delete_document": "delete", "jobs.reconcile": "reconcile",
         "jobs.reembed": "reembed", "jobs.retry_stalled_jobs": "retry_stalled_jobs",
         "jobs.drift_check": "drift_check"}
_FINISHED = ("succeeded", "failed", "cancelled", "aborted")


@dataclass(frozen=True)
class JobView:
    id: int
    task: str  # ingest, delete, reconcile, reembed (or the queue's own task name)
    status: str
    attempts: int
    document_id: str | None
    error: str  # the last failed run's reason; "" once it succeeded
    queued_at: datetime | None
    started_at: datetime | None  # the last run's start
    finished_at: datetime | None  # None until it succeeded or failed for good
    result: dict | None = None


def get_job(job_id: int) -> JobView | None:
    job = ProcrastinateJob.objects.filter(pk=job_id).first()
    return None if job is None else _view(job)


def jobs_of_document(document_id: str, limit: int = 20) -> list[JobView]:
    """The document's most recent jobs, newest first."""
    jobs = ProcrastinateJob.objects.filter(lock=f"document:{document_id}").order_by("-id")[:limit]
    return [_view(job) for job in jobs]


def queued_job_id(queueing_lock: str) -> int | None:
    """The job waiting (todo) under a queueing lock, if one is."""
    return (ProcrastinateJob.objects.filter(queueing_lock=queueing_lock, status="todo")
            .values_list("id", flat=True).first())


def _view(job: ProcrastinateJob) -> JobView:
    events = list(ProcrastinateEvent.objects.filter(job_id=job.pk).order_by("at", "id").values_list("type", "at"))
    queued = next((at for kind, at in events if kind == "deferred"), None)
    started = next((at for kind, at in reversed(events) if kind == "started"), None)
    finished = None
    if job.status in _FINISHED:
        finished = next((at for kind, at in reversed(events) if kind in _FINISHED), None)
    outcome = JobOutcome.objects.filter(job_id=job.pk).first()
    error = outcome.error if outcome is not None and job.status != "succeeded" else ""
    args = job.args if isinstance(job.args, dict) else {}
    return JobView(id=job.pk, task=TASKS.get(job.task_name, job.task_name), status=job.status,
                   attempts=job.attempts, document_id=args.get("document_id"), error=error, queued_at=queued,
                   started_at=started, finished_at=finished,
                   result=outcome.result if outcome is not None and job.status == "succeeded" else None)


def recent_jobs(limit: int = 20) -> list[JobView]:
    return [_view(job) for job in ProcrastinateJob.objects.order_by("-id")[:limit]]

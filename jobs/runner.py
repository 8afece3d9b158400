"""The work of each job (jobs/tasks.py registers them with the queue): ingest an upload, delete, reconcile, reembed.

Every run records its outcome (jobs.models.JobOutcome: the result, or the one-line reason) and raises a
classified error when it fails: TransientJobError (a store was unreachable: retried with backoff) or
JobFailed (running it again would not help). A document's jobs run one at a time, in the order they were
queued (procrastinate's `lock`, jobs/services.py), and each still takes the document's PostgreSQL advisory
lock inside (rag_data.locks.document_lock), as `manage.py ingest` does, so a job never interleaves with a
command either.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import DatabaseError

from core.retry import describe_error, is_transient
from ingestion.deletion import DocumentNotFound, delete_document
from ingestion.store_sync import StoreFailure
from ingestion.uploads import Unusable, ingest_upload
from jobs.models import JobOutcome, Upload
from jobs.retrying import JobFailed, TransientJobError

SUMMARY_LIMIT = 20  # ids listed per kind in a reconcile result (the counts are always whole)


def run(job_id: int, task: str, document_id: str, work: Callable[[], dict]) -> dict:
    """Run `work`, record its result or reason, and raise a classified error if it failed."""
    try:
        result = work()
    except JobFailed as error:
        _record(job_id, task, document_id, error=str(error))
        raise
    except Exception as error:  # whatever the stores raised: one line, then transient or not
        reason = str(error) if isinstance(error, (TransientJobError, StoreFailure)) else describe_error(error)
        _record(job_id, task, document_id, error=reason)
        if isinstance(error, TransientJobError) or is_transient(error):
            raise TransientJobError(reason) from None
        raise JobFailed(reason) from None
    _record(job_id, task, document_id, result=result)
    return result


def _record(job_id: int, task: str, document_id: str, *, error: str = "", result: dict | None = None) -> None:
    try:
        JobOutcome.objects.update_or_create(job_id=job_id, defaults={
            "task": task, "document_id": document_id or "", "error": " ".join(error.split())[:2000],
            "result": result or {}})
    except DatabaseError:
        pass  # PostgreSQL is gone: the job's status (procrastinate) still says it failed


def ingest_uploaded(upload_id: int, document_id: str, chunk_size: int | None = None,
                    chunk_overlap: int | None = None) -> dict:
    """Ingest an Upload's bytes; the Upload is deleted once ingested (or once it can never be)."""
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload is None:
        raise JobFailed(f"upload {upload_id} is gone (already ingested, or deleted by hand)")
    try:
        report = ingest_upload(document_id=document_id, name=upload.name, data=bytes(upload.data),
                               metadata=upload.metadata, content_type=upload.content_type or None,
                               source_path=upload.source_path or None, chunk_size=chunk_size,
                               chunk_overlap=chunk_overlap)
    except Unusable as error:
        upload.delete()
        raise JobFailed(str(error)) from None
    except StoreFailure as error:
        raise TransientJobError(str(error)) if is_transient(error) else JobFailed(str(error)) from None
    if report.failed:
        row = report.failed[0]
        raise (TransientJobError if row.get("transient") else JobFailed)(row["reason"])
    if report.skipped:
        upload.delete()
        raise JobFailed(f"not ingestible: {report.skipped[0]['reason']}")
    upload.delete()
    outcome = "created" if report.created else "updated" if report.updated else "unchanged"
    return {"document_id": document_id, "outcome": outcome, "chunks": report.chunks}


def delete(document_id: str) -> dict:
    """Delete a document from the three stores; one that is not there is done already (found: false)."""
    try:
        removed = delete_document(document_id)
    except DocumentNotFound:
        return {"document_id": document_id, "found": False}
    except StoreFailure as error:
        raise TransientJobError(str(error)) if is_transient(error) else JobFailed(str(error)) from None
    return {**removed, "found": True}


def reconcile_stores(repair: bool) -> dict:
    from ingestion.reconcile import reconcile

    try:
        report = reconcile(dry_run=not repair)
    except StoreFailure as error:
        raise TransientJobError(str(error)) if is_transient(error) else JobFailed(str(error)) from None
    summary = summarise(report.as_dict())
    if report.failed:
        first = report.failed[0]
        raise TransientJobError(f"{len(report.failed)} document(s) could not be repaired, e.g. "
                                f"{first['document_id']}: {first['reason']}")
    return summary


def summarise(found: dict) -> dict:
    """A reconcile report for a job's result: every count, and at most SUMMARY_LIMIT ids of each kind."""
    summary: dict = {}
    for key, value in found.items():
        if isinstance(value, list):
            summary[key] = {"count": len(value), "first": value[:SUMMARY_LIMIT]}
        else:
            summary[key] = value
    return summary


def reembed_vectors() -> dict:
    from ingestion.reembed import ReembedError, reembed

    try:
        report = reembed()
    except ReembedError as error:
        raise JobFailed(str(error)) from None
    except StoreFailure as error:
        raise TransientJobError(str(error)) if is_transient(error) else JobFailed(str(error)) from None
    return {"collection": report.collection, "target": report.target, "outcome": report.outcome,
            "embedded": report.embedded, "removed": report.removed, "notes": report.notes}

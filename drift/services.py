"""Writes: record a drift report (the online check), prune old ones, and ask for a repair."""

from __future__ import annotations

import logging
import time

from django.apps import apps
from django.conf import settings
from django.db import connection
from django.utils.module_loading import import_string

from core.redact import redact
from core.retry import describe_error
from drift import measure
from drift.models import KINDS, DriftReport
from ingestion.reconcile import reconcile
from ingestion.store_sync import StoreFailure

logger = logging.getLogger(__name__)
# Enqueues a repairing reconcile when the job queue app is installed. Named, not imported: the queue's
# periodic task calls run_drift_check, so the two apps must not import each other.
SUBMIT_RECONCILE = "jobs.services.submit_reconcile"


def run_drift_check() -> DriftReport:
    """Compare the stores now (read-only), record the result as a DriftReport and keep the newest
    DRIFT_KEEP_REPORTS. A store that cannot be read gives a report with `error` set (one redacted line)
    instead of an exception; only PostgreSQL being unable to store the report raises."""
    started = time.monotonic()
    fields: dict = {}
    try:
        measurement = measure.measure()
    except StoreFailure as error:
        fields["error"] = _one_line(str(error))
    except Exception as error:  # anything else is still a failed check, said in one line
        fields["error"] = _one_line(describe_error(error))
    else:
        fields.update(documents=measurement.documents, milvus_rows=measurement.milvus_rows,
                      counts=measurement.counts, examples=measurement.examples,
                      total=sum(measurement.counts.values()), settling=len(measurement.settling))
    if fields.get("error"):
        logger.warning("drift check failed: %s", fields["error"])
        connection.close_if_unusable_or_obsolete()  # PostgreSQL may have been the store that failed
    report = DriftReport.objects.create(duration_ms=(time.monotonic() - started) * 1000, **fields)
    prune(settings.DRIFT_KEEP_REPORTS)
    if report.total:
        logger.warning("drift found: %s", summary(report))
    return report


def prune(keep: int) -> int:
    """Delete all but the newest `keep` reports; returns how many were deleted."""
    newest = list(DriftReport.objects.order_by("-created_at", "-id").values_list("id", flat=True)[:keep])
    deleted, _ = DriftReport.objects.exclude(id__in=newest).delete()
    return deleted


def summary(report: DriftReport) -> str:
    """One line: the error, or the total and the non-zero kinds."""
    if report.error:
        return f"check failed: {report.error}"
    kinds = ", ".join(f"{kind} {report.counts[kind]}" for kind in KINDS if report.counts.get(kind))
    return f"{report.total} drift ({kinds})" if report.total else "no drift"


def request_repair(*, enqueue: bool | None = None) -> str:
    """Repair is an explicit act: enqueue a repairing reconcile job (by default when the job queue is
    installed), otherwise run reconcile here and now, then a drift check. Returns a one-line message."""
    if enqueue is None:
        enqueue = apps.is_installed("jobs")
    if enqueue:
        job = import_string(SUBMIT_RECONCILE)(repair=True)
        return f"reconcile job {getattr(job, 'id', job)} enqueued; the next drift report shows the result"
    try:
        result = reconcile()
    except StoreFailure as error:
        return _one_line(f"reconcile stopped: {error}")
    after = run_drift_check()
    failed = "; ".join(f"{row['document_id']}: {row['reason']}" for row in result.failed[:3])
    return _one_line(f"reconcile ran synchronously (no job queue installed): {len(result.repaired)} document(s) "
                     f"repaired, {len(result.failed)} failed" + (f" ({failed})" if failed else "")
                     + (f", {len(result.skipped_changed)} left to a concurrent writer" if result.skipped_changed else "")
                     + f"; drift now: {summary(after)}")


def _one_line(text: str) -> str:
    return " ".join(redact(text).split())[:500]

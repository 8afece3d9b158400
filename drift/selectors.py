"""Reads of the recorded drift reports (light: no store driver is imported; the measurement is drift.measure)."""

from __future__ import annotations

from drift.models import KINDS, DriftReport


def latest_report() -> DriftReport | None:
    return DriftReport.objects.order_by("-created_at", "-id").first()


def recent_reports(limit: int = 20) -> list[DriftReport]:
    return list(DriftReport.objects.order_by("-created_at", "-id")[:limit])


def latest_counts() -> dict[tuple[str, str], int]:
    """{(store, kind): count} of the latest report (every kind, zeros included); empty before any report
    or when the latest run failed. For metrics exporters."""
    report = latest_report()
    if report is None or report.error:
        return {}
    return {(store, kind): int(report.counts.get(kind, 0)) for kind, store in KINDS.items()}

"""Reads of the recorded drift reports (light: no store driver is imported; the measurement is drift.measure)."""

from __future__ import annotations

from drift.models import KINDS, DriftReport


def latest_report() -> DriftReport | None:
    return DriftReport.objects.order_by("-created_at", "-id").first()


def recent_reports(limit: int = 20) -> list[DriftReport]:
    return list(DriftReport.objects.order_by("-created_at", "-id")[:limit])


def latest_counts() -> dict[str, int]:
    """{kind: count} of the latest report (every kind of drift.models.KINDS, zeros included; KINDS gives each
    kind's store); empty before any report or when the latest run failed. For the metrics exporter."""
    report = latest_report()
    if report is None or report.error:
        return {}
    return {kind: int(report.counts.get(kind, 0)) for kind in KINDS}

"""`manage.py check_drift`: run the online drift check now (what the periodic job runs), record the report
and print it; exit code 0 whatever it found (it is a report; `manage.py reconcile` repairs)."""

from __future__ import annotations

import json as jsonlib

from django.core.management.base import BaseCommand

from drift.models import KINDS, LABELS
from drift.services import run_drift_check, summary


class Command(BaseCommand):
    help = "Compare the three stores now (read-only), record a drift report and print it."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, json: bool, **options):
        report = run_drift_check()
        if json:
            self.stdout.write(jsonlib.dumps(as_dict(report), indent=2))
            return
        self.stdout.write(f"drift report {report.id} at {report.created_at:%Y-%m-%d %H:%M:%S}Z, "
                          f"{report.duration_ms / 1000:.2f}s: {report.documents} document(s), "
                          f"{report.milvus_rows} Milvus row(s), {report.settling} left out as being written")
        if not report.error:
            self.stdout.write(f"{'store':<9} {'kind':<24} {'count':>7}  examples")
            for kind, store in KINDS.items():
                examples = ", ".join(report.examples.get(kind, []))
                self.stdout.write(f"{store:<9} {kind:<24} {report.counts.get(kind, 0):>7}  {examples}")
        self.stdout.write(summary(report))


def as_dict(report) -> dict:
    return {
        "id": report.id, "created_at": report.created_at.isoformat(), "duration_ms": round(report.duration_ms, 1),
        "documents": report.documents, "milvus_rows": report.milvus_rows, "settling": report.settling,
        "total": report.total, "by_store": report.by_store(), "counts": report.counts,
        "examples": report.examples, "labels": LABELS, "error": report.error or None,
    }

"""`manage.py reconcile`: find and repair drift between PostgreSQL (the ledger), Milvus and Neo4j.

`--dry-run` only reports, and exits 1 when it found drift; a repair run exits 1 if any repair failed.
"""

from __future__ import annotations

import json as jsonlib

from django.core.management.base import BaseCommand, CommandError

from ingestion.reconcile import reconcile
from ingestion.store_sync import StoreFailure

_LABELS = (
    ("incomplete", "pending/failed in the ledger"),
    ("missing_in_milvus", "missing chunks in Milvus"),
    ("missing_in_neo4j", "missing from Neo4j"),
    ("orphan_milvus_chunks", "orphan Milvus chunks"),
    ("orphan_neo4j_documents", "orphan Neo4j documents"),
    ("interrupted_deletions", "interrupted deletions"),
    ("unsupported_graph_edges", "graph edges no document supports"),
    ("unmentioned_concepts", "concepts no document mentions"),
    ("stale_in_neo4j", "documents whose graph is rewritten"),
)


class Command(BaseCommand):
    help = "Compare the three stores with the PostgreSQL ledger and repair partial writes and orphans."

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="report only; exit 1 if drift is found")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, dry_run: bool, json: bool, **options):
        try:
            report = reconcile(dry_run=dry_run)
        except StoreFailure as error:
            raise CommandError(str(error)) from None
        if json:
            self.stdout.write(jsonlib.dumps(report.as_dict(), indent=2))
        else:
            self._print(report)
        if report.failed:
            raise CommandError(f"{len(report.failed)} document(s) could not be repaired")
        if dry_run and report.drift_found:
            raise CommandError("drift found; run `manage.py reconcile` to repair it")

    def _print(self, report) -> None:
        self.stdout.write(f"{report.documents} document(s) in the ledger")
        for name, label in _LABELS:
            items = getattr(report, name)
            if items:
                sample = ", ".join(_shown(item) for item in items[:5]) + (", ..." if len(items) > 5 else "")
                self.stdout.write(f"{label}: {len(items)} ({sample})")
        if not report.drift_found:
            self.stdout.write(self.style.SUCCESS("the three stores agree"))
        elif not report.dry_run:
            self.stdout.write(self.style.SUCCESS(f"repaired {len(report.repaired)} document(s), removed "
                                                 f"{len(report.orphan_milvus_chunks)} orphan chunk(s) and "
                                                 f"{len(report.orphan_neo4j_documents)} orphan graph document(s), "
                                                 f"{len(report.unsupported_graph_edges)} unsupported edge(s) and "
                                                 f"{len(report.unmentioned_concepts)} unmentioned concept(s)"))
        for row in report.failed:
            self.stdout.write(self.style.ERROR(f"failed {row['document_id']}: {row['reason']}"))


def _shown(item) -> str:
    return " -- ".join(map(repr, item)) if isinstance(item, list) else str(item)

"""DriftReport: one run of the online drift check (drift.services.run_drift_check), kept for DRIFT_KEEP_REPORTS runs."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

# Every kind of drift the check counts, with the store it is drift in (the ledger in PostgreSQL is the truth).
# The names are those of ingestion.reconcile.ReconcileReport; docs/drift.md says what each means and does.
KINDS: dict[str, str] = {
    "missing_in_milvus": "milvus",        # documents whose chunks are not all in Milvus
    "orphan_milvus_chunks": "milvus",     # Milvus rows no ledger chunk owns
    "missing_in_neo4j": "neo4j",          # documents without their Document node
    "orphan_neo4j_documents": "neo4j",    # Document nodes with no ledger document
    "stale_in_neo4j": "neo4j",            # documents whose graph part must be rewritten
    "unsupported_graph_edges": "neo4j",   # RELATED_TO edges no document supports
    "unmentioned_concepts": "neo4j",      # concepts no document mentions
    "incomplete": "postgres",             # ledger rows pending or failed for longer than DRIFT_GRACE_SECONDS
    "interrupted_deletions": "postgres",  # ledger rows left `deleting` for longer than DRIFT_GRACE_SECONDS
}
LABELS: dict[str, str] = {
    "missing_in_milvus": "documents missing chunks in Milvus",
    "orphan_milvus_chunks": "orphan Milvus chunks",
    "missing_in_neo4j": "documents missing from Neo4j",
    "orphan_neo4j_documents": "orphan Neo4j documents",
    "stale_in_neo4j": "documents whose graph needs a rewrite",
    "unsupported_graph_edges": "graph edges no document supports",
    "unmentioned_concepts": "concepts no document mentions",
    "incomplete": "pending/failed in the ledger",
    "interrupted_deletions": "interrupted deletions",
}
STORES = ("postgres", "milvus", "neo4j")
EXAMPLES_PER_KIND = 5


class DriftReport(models.Model):
    """Counts of drift per kind, a few example ids per kind, or the one-line error that stopped the run."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)
    duration_ms = models.FloatField()
    documents = models.PositiveIntegerField(default=0, help_text="Ledger documents compared")
    milvus_rows = models.PositiveIntegerField(default=0, help_text="Milvus rows compared")
    counts = models.JSONField(default=dict, blank=True, help_text="{kind: count}, every kind present")
    examples = models.JSONField(default=dict, blank=True, help_text="{kind: [up to 5 ids]}")
    total = models.PositiveIntegerField(default=0)
    settling = models.PositiveIntegerField(
        default=0, help_text="Documents left out: being written, or changed within the grace period")
    error = models.CharField(max_length=500, blank=True, default="",
                             help_text="Redacted one-line error when a store was unreachable")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(duration_ms__gte=0), name="drift_report_duration_non_negative"),
        ]

    def __str__(self) -> str:
        state = f"error: {self.error}" if self.error else f"{self.total} drift"
        return f"drift report {self.created_at:%Y-%m-%d %H:%M:%S} ({state})"

    @property
    def ok(self) -> bool:
        return not self.error and self.total == 0

    def by_store(self) -> dict[str, int]:
        """{store: drift count} for postgres, milvus and neo4j."""
        totals = dict.fromkeys(STORES, 0)
        for kind, count in self.counts.items():
            totals[KINDS.get(kind, "postgres")] += count
        return totals

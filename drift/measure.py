"""The drift measurement: reconcile's comparison (read-only), less what a writer is still busy with.

A read, kept apart from drift.selectors so that the admin and /health/, which only read reports, do not
import the store drivers."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.conf import settings

from drift.models import EXAMPLES_PER_KIND, KINDS
from ingestion import reconcile
from rag_data import locks
from rag_data.models import Document

_IDS_PER_QUERY = 5000
_DOCUMENT_KINDS = ("missing_in_milvus", "missing_in_neo4j", "stale_in_neo4j", "incomplete", "interrupted_deletions",
                   "orphan_neo4j_documents")


@dataclass
class Measurement:
    found: dict[str, list[str]] = field(default_factory=dict)  # {kind: sorted ids}, every kind of KINDS
    documents: int = 0
    milvus_rows: int = 0
    settling: set[str] = field(default_factory=set)

    @property
    def counts(self) -> dict[str, int]:
        return {kind: len(ids) for kind, ids in self.found.items()}

    @property
    def examples(self) -> dict[str, list[str]]:
        return {kind: ids[:EXAMPLES_PER_KIND] for kind, ids in self.found.items() if ids}


def measure(grace: datetime.timedelta | None = None) -> Measurement:
    """Drift as reconcile's comparison sees it (ingestion.reconcile.plan: nothing is written), less what
    a writer is still busy with: a document whose lock is held when the stores have been read, that
    appeared, changed or vanished since the run began, or changed within `grace` before it
    (DRIFT_GRACE_SECONDS) is left out, and so are the Milvus rows and Document nodes that belong to it.
    Raises ingestion.store_sync.StoreFailure (one line, naming the store) when a store is unreachable."""
    grace = datetime.timedelta(seconds=settings.DRIFT_GRACE_SECONDS) if grace is None else grace
    plan = reconcile.plan()
    report = plan.report
    owner_of_orphan = {chunk_id: plan.milvus[chunk_id] for chunk_id in report.orphan_milvus_chunks}
    flagged = set(owner_of_orphan.values()).union(*(getattr(report, kind) for kind in _DOCUMENT_KINDS))
    settling = _settling(flagged, set(plan.documents), plan.started - grace)

    if report.unsupported_graph_edges or report.unmentioned_concepts:
        _confirm_graph_facts(report, plan.documents)
    found = {kind: sorted(set(getattr(report, kind)) - settling) for kind in _DOCUMENT_KINDS}
    found["orphan_milvus_chunks"] = sorted(chunk for chunk, owner in owner_of_orphan.items() if owner not in settling)
    found["unsupported_graph_edges"] = [f"{a} -- {b}" for a, b in report.unsupported_graph_edges]
    found["unmentioned_concepts"] = list(report.unmentioned_concepts)
    return Measurement(found={kind: found[kind] for kind in KINDS}, documents=report.documents,
                       milvus_rows=len(plan.milvus), settling=settling)


def _confirm_graph_facts(report, documents: dict[str, Document]) -> None:
    """Keep only the graph facts that a second read, under the namespace's graph lock (no document's graph
    write in progress), finds again. Neo4j reads are read-committed: the first read, taken while a writer
    commits, can pair an edge's new contributors with the old mentions. Only done when the first read
    found any, so a clean check never makes a graph writer wait."""
    with locks.graph_lock(settings.RAG_NAMESPACE):
        again = reconcile.graph_facts(documents)
    report.unsupported_graph_edges = [edge for edge in report.unsupported_graph_edges
                                      if edge in again.unsupported_graph_edges]
    report.unmentioned_concepts = sorted(set(report.unmentioned_concepts) & set(again.unmentioned_concepts))
    report.stale_in_neo4j = sorted(set(report.stale_in_neo4j) & set(again.stale_in_neo4j))


def _settling(flagged: set[str], in_snapshot: set[str], cutoff: datetime.datetime) -> set[str]:
    """Those of `flagged` a writer may still be busy with (re-read now, after the stores were read)."""
    ids = sorted(flagged)
    now: dict[str, datetime.datetime] = {}
    for start in range(0, len(ids), _IDS_PER_QUERY):
        now.update(Document.objects.filter(document_id__in=ids[start:start + _IDS_PER_QUERY])
                   .values_list("document_id", "updated_at"))
    settling = {document_id for document_id, updated_at in now.items() if updated_at > cutoff}
    settling |= {document_id for document_id in ids if document_id in in_snapshot and document_id not in now}
    settling |= {document_id for document_id in now if document_id not in in_snapshot}
    return settling | locks.held_document_locks(ids)

"""Reconcile on the real engines: drift made by really breaking or bypassing a store, then repaired."""

import threading
import uuid

import pytest

from graphstore import services as graph_services
from rag_data import ledger
from ingestion.services import ingest_paths
from rag_data.models import Document
from ingestion.reconcile import reconcile
from ingestion.tests.support import (  # noqa: F401 (fixtures)
    assert_stores_agree,
    corpus,
    milvus_state,
    neo4j_documents,
    outage_stores,
    own_drift,
    pg_state,
    stores,
)
from tests.fixtures import MILVUS_SERVER_URI
from vectorstore import services as vector_services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _orphan_row(chunk_id, document_id):
    return {"chunk_id": chunk_id, "document_id": document_id, "embedding": [0.5] * 32,
            "metadata": {}}


def test_reconcile_repairs_every_kind_of_drift(stores, corpus):
    ingest_paths([corpus])
    assert_stores_agree()
    by_source = {d.source_path: d for d in Document.objects.all()}
    behind_its_back = by_source["corpus/guide.md"].document_id
    vector_services.delete_document_chunks([behind_its_back])  # (a) Milvus rows gone, ledger still complete
    real_document = by_source["corpus/notes.txt"].document_id
    vector_services.upsert_chunks([_orphan_row("orphan-chunk-1", "ghost-document"),  # (b) orphans
                                   _orphan_row("orphan-chunk-2", real_document)])
    graph_services.upsert_document("ghost-graph-document", "Ghost", "ghost.md", None)  # (c)
    deleting = by_source["corpus/sub/search.rst"]
    ledger.mark_deleting(deleting)  # a deletion that died right after marking the ledger

    dry = reconcile(dry_run=True)
    assert dry.drift_found
    assert dry.missing_in_milvus == [behind_its_back]
    assert dry.orphan_milvus_chunks == ["orphan-chunk-1", "orphan-chunk-2"]
    assert "ghost-graph-document" in dry.orphan_neo4j_documents  # (other Neo4j users' documents may show too)
    assert dry.interrupted_deletions == [deleting.document_id]
    assert milvus_state()["ghost-document"] == {"orphan-chunk-1"}  # the dry run changed nothing

    report = reconcile()
    assert report.repaired == [behind_its_back] and not report.failed
    state = assert_stores_agree(absent=["ghost-graph-document", deleting.document_id])
    assert deleting.document_id not in state and len(state) == 3
    again = reconcile()
    assert own_drift(again) == {}  # idempotent


def test_reconcile_completes_a_document_left_failed_by_a_real_outage(outage_stores, corpus, settings):
    settings.INGEST_GROUP_SIZE = 2  # the outage starts after the first group of two
    report = ingest_paths([corpus], progress=lambda done, total, path: done == 2 and outage_stores.start())
    assert len(report.created) == 2 and len(report.failed) == 2
    pending = {row["document_id"] for row in report.failed}
    outage_stores.end()
    assert pending <= set(pg_state()) and not pending & neo4j_documents()

    dry = reconcile(dry_run=True)
    assert set(dry.incomplete) == pending and set(dry.missing_in_neo4j) == pending
    repaired = reconcile()
    assert set(repaired.repaired) == pending
    assert_stores_agree()


def test_reconcile_with_neo4j_down_names_the_store(outage_stores, corpus):
    from ingestion.store_sync import StoreFailure

    outage_stores.start()
    with pytest.raises(StoreFailure, match="^Neo4j"):
        reconcile()


@pytest.mark.slow
def test_killing_milvus_mid_ingest_then_reconcile_leaves_the_stores_identical(neo4j_store, settings, tmp_path):
    """The issue's acceptance test: ~200 files, Milvus stopped part-way, restarted, reconciled."""
    from django.db import connection

    from tests.integration.engines import eventually, stack
    from vectorstore import client

    settings.MILVUS_URI = MILVUS_SERVER_URI
    settings.MILVUS_COLLECTION = f"test_kill_{uuid.uuid4().hex[:10]}"
    settings.MILVUS_TIMEOUT = 3
    settings.EMBEDDING_DIM, settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 32, 300, 50
    settings.STORE_RETRY_ATTEMPTS = 2  # (not STORE_RETRY_MAX_SECONDS: changing it would reopen the Neo4j driver)
    client.connection().close()
    topics = ["vector", "graph", "keyword", "fusion", "ledger", "milvus", "neo4j", "postgres"]
    for n in range(200):
        a, b = topics[n % 8], topics[(n * 3 + 1) % 8]
        paragraphs = [f"Document {n} explains {a} search and {b} storage. The {a} index helps {b} queries."
                      for _ in range(6)]
        (tmp_path / f"doc{n:03d}.md").write_text(f"# Note {n}\n\n" + "\n\n".join(paragraphs))

    progress: list[int] = []
    result: dict = {}
    milvus_stopped = threading.Event()

    def hold_at_40(done, total, path):
        # The ingest waits here (once) until Milvus is down: an ingest faster than `stack down` must not
        # finish all 200 files first, as it did once ingestion overlapped the stores.
        progress.append(done)
        if done == 40:
            milvus_stopped.wait(timeout=300)

    def run_ingest():
        try:
            result["report"] = ingest_paths([tmp_path], progress=hold_at_40)
        except Exception as error:  # reported by the main thread
            result["error"] = error
        finally:
            connection.close()  # this thread's own PostgreSQL connection

    worker = threading.Thread(target=run_ingest)
    worker.start()
    try:
        eventually(lambda: len(progress) >= 40 or not worker.is_alive(), timeout=300, interval=0.2)
        assert len(progress) >= 40, f"the ingest did not get going: {result or 'still running'}"
        stack("down", "milvus")
        milvus_stopped.set()
        worker.join(timeout=900)
        assert not worker.is_alive()
    finally:
        milvus_stopped.set()
        stack("up", "milvus")
    report = result["report"]
    assert report.failed and report.created, report.counts()
    # Whatever the crash left, nothing is claimed complete unless it is in all three stores (a CHECK).
    for document in Document.objects.filter(status="complete"):
        assert document.in_postgres and document.in_milvus and document.in_neo4j

    client.connection().close()
    assert eventually(_reachable, timeout=240, interval=3)
    fixed = reconcile()
    print("ingest:", report.counts(), "reconcile:", {k: len(v) for k, v in fixed.as_dict().items()
                                                     if isinstance(v, list)})
    assert not fixed.failed
    state = assert_stores_agree()
    assert set(report.created) <= set(state)
    assert own_drift(reconcile(dry_run=True)) == {}
    client.get_client().drop_collection(settings.MILVUS_COLLECTION)
    client.connection().close()


def _reachable() -> bool:
    """The restarted server answers a loaded, Strong query (it accepts connections well before that)."""
    from vectorstore import client, selectors, services

    try:
        services.ensure_collection()
        selectors.count_chunks()
        return True
    except Exception:
        client.connection().close()
        return False

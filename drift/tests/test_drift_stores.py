"""The drift check on the real engines: drift made behind the app's back shows in the next report and in
/health/ (a warning, HTTP 200); a clean ingest and a document being written report none."""

from __future__ import annotations

import io
import json
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection

from drift.models import DriftReport
from drift.services import request_repair, run_drift_check
from graphstore import services as graph_services
from ingestion.services import ingest_paths
from ingestion.store_sync import prepare_stores
from jobs.selectors import get_job
from ingestion.tests.support import corpus, outage_stores  # noqa: F401 (fixtures)
from rag_data import locks
from rag_data.models import Chunk, Document
from vectorstore import services as vector_services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.parametrize("milvus_backend", ["standalone"], indirect=True)]


@pytest.fixture
def stores(milvus_backend, neo4j_store, settings):
    """PostgreSQL, the Milvus standalone server (a collection of this test's own) and Neo4j (this run's
    namespace), small vectors; no grace period, so only the lock and run-time rules leave documents out."""
    settings.EMBEDDING_DIM, settings.EMBEDDER, settings.EXTRACTOR = 32, "offline", "keyphrase"
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 200, 40
    settings.DRIFT_GRACE_SECONDS, settings.DRIFT_WARN_THRESHOLD, settings.HEALTH_CHECK_TIMEOUT = 0, 0, 5
    return milvus_backend


def _health(client) -> tuple[int, dict]:
    response = client.get("/health/", HTTP_ACCEPT="application/json")
    return response.status_code, response.json()


def test_clean_ingest_reports_zero_then_hand_made_drift_shows_in_the_report_and_health(stores, corpus, client,
                                                                                      settings):
    ingest_paths([corpus])
    clean = run_drift_check()
    assert (clean.total, clean.error, clean.documents) == (0, "", 4) and clean.milvus_rows > 0
    status, body = _health(client)
    assert status == 200 and body["status"] == "pass", body
    assert body["checks"]["drift"]["status"] == "working" and body["checks"]["drift"]["age_seconds"] >= 0

    by_source = {d.source_path: d for d in Document.objects.all()}
    behind_its_back = by_source["corpus/guide.md"].document_id
    one_chunk = Chunk.objects.filter(document__document_id=behind_its_back).values_list("chunk_id", flat=True)[0]
    vector_services.delete_chunks([one_chunk])  # a Milvus row gone, the ledger still says complete
    graph_services.upsert_document("ghost-graph-document", "Ghost", "ghost.md", None)  # a Neo4j orphan

    report = run_drift_check()
    assert report.counts["missing_in_milvus"] == 1 and report.examples["missing_in_milvus"] == [behind_its_back]
    assert report.counts["orphan_neo4j_documents"] == 1
    assert report.examples["orphan_neo4j_documents"] == ["ghost-graph-document"]
    assert report.total == 2 and report.by_store() == {"postgres": 0, "milvus": 1, "neo4j": 1}
    status, body = _health(client)
    assert status == 200 and body["status"] == "warn" and body["warnings"] == ["drift"], body
    drift = body["checks"]["drift"]
    assert drift["status"] == "warning" and drift["total"] == 2 and "missing_in_milvus 1" in drift["warning"]
    assert body["failing"] == [] and set(body["stores"]) == {"postgres", "milvus", "neo4j"}

    settings.DRIFT_WARN_THRESHOLD = 2  # at or under the threshold: no warning
    assert _health(client)[1]["status"] == "pass"

    out = io.StringIO()
    call_command("check_drift", "--json", stdout=out)  # the command records a report too, exit code 0
    printed = json.loads(out.getvalue())
    assert printed["total"] == 2 and printed["counts"]["orphan_neo4j_documents"] == 1

    message = request_repair()  # with the job queue: a repairing reconcile job is enqueued, nothing repaired here
    job_id = int(message.split()[2])
    assert message.startswith("reconcile job") and get_job(job_id).task == "reconcile", message
    assert run_drift_check().total == 2
    message = request_repair(enqueue=False)  # as without the job queue: reconcile runs here
    assert "ran synchronously" in message and "drift now: no drift" in message, message
    assert DriftReport.objects.first().total == 0


def test_a_document_being_written_is_not_drift(stores, corpus):
    ingest_paths([corpus])
    document = Document.objects.get(source_path="corpus/notes.txt")
    chunk_ids = list(document.chunks.values_list("chunk_id", flat=True))
    holding, release = threading.Event(), threading.Event()

    def writer():  # another session holds the document's lock, as an ingest does, while its rows are missing
        try:
            with locks.document_lock(document.document_id):
                holding.set()
                release.wait(60)
        finally:
            connection.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(30)
        vector_services.delete_chunks(chunk_ids)
        during = run_drift_check()
        assert during.total == 0 and during.settling == 1, during.counts
    finally:
        release.set()
        thread.join(30)
    after = run_drift_check()  # the lock is gone and the rows still missing: now it is drift
    assert after.counts["missing_in_milvus"] == 1 and after.settling == 0


def test_documents_ingested_during_the_checks_are_never_reported(stores, tmp_path):
    for n in range(24):
        (tmp_path / f"note{n:02d}.md").write_text(f"# Note {n}\n\nNote {n} is about vector search and graph "
                                                   f"expansion number {n}. Keyword search ranks note {n}.\n")
    prepare_stores()  # the collection and its index exist before the ingest, as after `init_stores`
    result: dict = {}

    def ingest():
        try:
            # Each stage of each file waits a little: documents stay half-written (under their locks) longer.
            result["report"] = ingest_paths([tmp_path], on_progress=lambda progress: time.sleep(0.03))
        finally:
            connection.close()

    thread = threading.Thread(target=ingest)
    thread.start()
    reports = []
    while thread.is_alive() or not reports:
        reports.append(run_drift_check())
    thread.join()
    assert len(result["report"].created) == 24 and len(reports) >= 3, len(reports)
    assert [(report.counts, report.examples, report.error) for report in reports if report.total or report.error] == []
    assert run_drift_check().total == 0


def test_an_unreachable_store_is_a_one_line_error_and_a_warning(outage_stores, client, settings):
    settings.HEALTH_CHECK_TIMEOUT = 5
    outage_stores.start()  # a real outage: the driver points at a port nothing listens on
    try:
        report = run_drift_check()
        status, body = _health(client)
    finally:
        outage_stores.end()
    assert report.error.startswith("Neo4j") and "\n" not in report.error, report.error
    assert settings.NEO4J_PASSWORD not in report.error
    assert status == 503 and "neo4j" in body["failing"] and "drift" not in body["failing"]  # drift only warns
    assert "the latest drift check failed: Neo4j" in body["checks"]["drift"]["warning"]

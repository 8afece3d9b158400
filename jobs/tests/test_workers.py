"""The queue end to end, with real workers in separate processes on the real engines: an upload found by search,
200 uploads shared by two workers (none written twice, none lost), a worker SIGKILLed mid-job (its job retried
to completion by another), and a document's ingest and delete jobs never interleaving."""

from __future__ import annotations

import pytest
from procrastinate.contrib.django.models import ProcrastinateEvent, ProcrastinateJob

from ingestion import store_sync
from jobs.models import Upload
from jobs.selectors import get_job
from jobs.services import submit_deletion, submit_document
from jobs.tests.support import wait_for, workers
from rag_data import locks
from rag_data.models import Document
from tests.reliability import support
from vectorstore.selectors import chunk_ids_for_documents

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

WORDS = ["vector", "graph", "keyword", "fusion", "ledger", "milvus", "neo4j", "postgres", "queue", "worker"]


def text(n: int, extra: str = "") -> bytes:
    a, b = WORDS[n % 10], WORDS[(n * 3 + 1) % 10]
    return (f"# Note {n}\n\nNote {n} explains {a} search and {b} storage{extra}. The {a} index helps {b} "
            f"queries, part {n}.\n").encode()


@pytest.fixture
def queue_stores(settings):
    """This test's own Milvus collection (created before any worker starts) and graph namespace, small vectors."""
    from graphstore.client import get_driver
    from tests.fixtures import wipe_graph_namespace

    prefix, collection = support.unique("job"), support.unique("jobs_")
    support.small_settings(settings, collection)
    store_sync.prepare_stores()
    yield prefix
    support.drop_everything(prefix, collection)
    wipe_graph_namespace(get_driver(), settings.NEO4J_DATABASE, settings.RAG_NAMESPACE)


def statuses(job_ids) -> dict[int, str]:
    return dict(ProcrastinateJob.objects.filter(pk__in=list(job_ids)).values_list("id", "status"))


def all_succeeded(job_ids) -> bool:
    found = statuses(job_ids)
    failed = {job: status for job, status in found.items() if status == "failed"}
    assert not failed, [get_job(job).error for job in failed][:3]
    return len(found) == len(job_ids) and set(found.values()) == {"succeeded"}


def test_upload_to_job_to_worker_to_all_stores_to_search(settings, tmp_path, queue_stores):
    from retrieval import pipeline

    body = b"# Zebrafish telemetry\n\nZebrafish telemetry streams are stored as vectors and concepts.\n"
    submission = submit_document(name="fish.md", data=body, content_type="text/markdown",
                                 document_id=f"{queue_stores}-fish", metadata={"title": "Fish", "lab": "north"})
    assert get_job(submission.job_id).status == "todo"
    with workers(settings, tmp_path, 1) as running:
        wait_for(lambda: all_succeeded([submission.job_id]), 120, "the upload's job", running)
    view = get_job(submission.job_id)
    assert (view.status, view.attempts, view.error, view.document_id) == ("succeeded", 1, "", submission.document_id)
    assert view.started_at >= view.queued_at and view.finished_at >= view.started_at
    assert view.result == {"document_id": submission.document_id, "outcome": "created", "chunks": 1}
    document = Document.objects.get(document_id=submission.document_id)
    assert (document.status, document.title, document.source_path) == ("complete", "Fish", "upload://fish.md")
    assert document.metadata == {"lab": "north"}
    support.assert_identical(queue_stores, expected_documents=1)
    assert not Upload.objects.exists(), "the payload is deleted once ingested"
    hits = pipeline.search("zebrafish telemetry", k=3).hits
    assert hits and hits[0].document_id == submission.document_id


def test_two_worker_processes_share_200_uploads_none_twice_none_lost(settings, tmp_path, queue_stores):
    count = 200
    jobs = [submit_document(name=f"n{n}.md", data=text(n), content_type=None, document_id=f"{queue_stores}-{n:03d}",
                            metadata={}).job_id for n in range(count)]
    # Three jobs at once in each worker (threads): most of a small document's time is spent waiting on the stores.
    with workers(settings, tmp_path, 2, JOBS_WORKER_CONCURRENCY="3") as running:
        wait_for(lambda: all_succeeded(jobs), 600, f"{count} jobs on two workers", running, interval=1)
        ran = [set(worker.started_jobs()) for worker in running]
    assert ran[0] and ran[1], f"one worker ran everything: {len(ran[0])} / {len(ran[1])}"
    assert not ran[0] & ran[1], f"jobs run by both workers: {sorted(ran[0] & ran[1])[:10]}"
    assert ran[0] | ran[1] == set(jobs)
    started = ProcrastinateEvent.objects.filter(job_id__in=jobs, type="started").count()
    assert started == count, "every job ran exactly once (no retry, no second run)"
    support.assert_identical(queue_stores, expected_documents=count)
    assert not Upload.objects.exists()


def test_a_worker_killed_mid_job_leaves_the_document_pending_and_another_worker_finishes_it(
        settings, tmp_path, queue_stores):
    document_id = f"{queue_stores}-killed"
    submission = submit_document(name="k.md", data=text(7), content_type=None, document_id=document_id, metadata={})
    # Hold the graph lock the job needs for its Neo4j write: the job stops there, after PostgreSQL and Milvus
    # (written while the graph write waits; their flags are recorded only once both are over).
    with locks.graph_lock(settings.RAG_NAMESPACE):
        with workers(settings, tmp_path, 1) as first:
            wait_for(lambda: Document.objects.filter(document_id=document_id, in_postgres=True).exists()
                     and chunk_ids_for_documents([document_id]).get(document_id), 120,
                     "the job to reach its Neo4j write", first)
            assert get_job(submission.job_id).status == "doing"
            first[0].kill()
    document = Document.objects.get(document_id=document_id)
    assert (document.status, document.in_neo4j) == ("pending", False)
    assert get_job(submission.job_id).status == "doing"  # stalled: its worker is gone

    (tmp_path / "second").mkdir()
    with workers(settings, tmp_path / "second", 1) as second:
        wait_for(lambda: all_succeeded([submission.job_id]), 120, "the stalled job retried to completion", second)
    view = get_job(submission.job_id)
    assert view.attempts == 2 and view.error == "", view  # the killed run, then the one that completed
    assert Document.objects.get(document_id=document_id).status == "complete"
    support.assert_identical(queue_stores, expected_documents=1)


def test_ingest_and_delete_jobs_of_a_document_never_interleave(settings, tmp_path, queue_stores):
    """Per document, queued together: ingest, delete (and for odd ones ingest again), run by two workers."""
    planned: dict[str, list[int]] = {}
    for n in range(8):
        document_id = f"{queue_stores}-{n}"
        jobs = [submit_document(name="a.md", data=text(n), content_type=None, document_id=document_id,
                                metadata={}).job_id,
                submit_deletion(document_id).job_id]
        if n % 2:
            jobs.append(submit_document(name="b.md", data=text(n, " again"), content_type=None,
                                        document_id=document_id, metadata={}).job_id)
        planned[document_id] = jobs
    every = [job for jobs in planned.values() for job in jobs]
    with workers(settings, tmp_path, 2) as running:
        wait_for(lambda: all_succeeded(every), 300, "the ingest/delete jobs", running, interval=0.5)
    for document_id, jobs in planned.items():
        views = [get_job(job) for job in jobs]
        for before, after in zip(views, views[1:]):
            assert after.started_at >= before.finished_at, f"{document_id}: job {after.id} began before {before.id} ended"
        assert views[1].result["found"] is True
    remaining = set(Document.objects.filter(document_id__startswith=queue_stores).values_list("document_id", flat=True))
    assert remaining == {f"{queue_stores}-{n}" for n in range(8) if n % 2}
    found = support.assert_identical(queue_stores, expected_documents=4)
    assert all(Document.objects.get(document_id=d).source_path == "upload://b.md" for d in found["postgres"])


def test_the_periodic_drift_check_records_a_report(settings, tmp_path, queue_stores):
    from drift.models import DriftReport

    before = set(DriftReport.objects.values_list("id", flat=True))
    with workers(settings, tmp_path, 1, DRIFT_CHECK_CRON="* * * * * *") as running:
        wait_for(lambda: DriftReport.objects.exclude(id__in=before).exists(), 120, "a periodic drift report", running)
        job = wait_for(lambda: ProcrastinateJob.objects.filter(task_name="jobs.drift_check", status="succeeded")
                       .first(), 60, "the drift job's end", running)
    view = get_job(job.pk)
    report = DriftReport.objects.exclude(id__in=before).order_by("id").first()
    assert view.task == "drift_check" and view.result["report"] >= report.pk and view.result["error"] == ""
    assert report.error == "" and report.total == 0, (report.error, report.counts)

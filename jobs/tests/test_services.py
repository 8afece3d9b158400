"""Submitting work (the interface the API uses), on the real PostgreSQL: what is stored, what is refused."""

import pytest
from procrastinate.contrib.django.models import ProcrastinateJob

from jobs import services
from jobs.models import Upload
from jobs.retrying import JobFailed, StoreOutageRetry, TransientJobError, backoff_seconds
from jobs.selectors import get_job, jobs_of_document
from jobs.services import Rejected, submit_deletion, submit_document, submit_reconcile, submit_reembed

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TEXT = b"# Queue\n\nA document about vector search and graphs.\n"


def test_a_submitted_document_is_an_upload_and_a_job_under_the_document_lock():
    submission = submit_document(name="queue.md", data=TEXT, content_type="text/markdown", document_id=None,
                                 metadata={"title": "Queue", "team": "search"})
    assert submission.document_id.startswith("upload-") and submission.job_id > 0
    upload = Upload.objects.get(document_id=submission.document_id)
    assert bytes(upload.data) == TEXT and upload.metadata == {"title": "Queue", "team": "search"}
    job = ProcrastinateJob.objects.get(pk=submission.job_id)
    assert (job.task_name, job.lock, job.status) == ("jobs.ingest_upload", f"document:{submission.document_id}",
                                                     "todo")
    view = get_job(submission.job_id)
    assert (view.task, view.status, view.attempts, view.document_id, view.error) == (
        "ingest", "todo", 0, submission.document_id, "")
    assert view.queued_at is not None and view.started_at is None and view.finished_at is None
    deletion = submit_deletion(submission.document_id)
    assert ProcrastinateJob.objects.get(pk=deletion.job_id).lock == job.lock
    assert [v.id for v in jobs_of_document(submission.document_id)] == [deletion.job_id, submission.job_id]
    assert get_job(10**12) is None


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"data": b""}, "empty document"),
    ({"data": b"x" * 65}, "too large (65 bytes > DOCUMENT_MAX_BYTES=64)"),
    ({"data": b"\x00\x01\x02"}, "binary file"),
    ({"name": "photo.jpg"}, "unsupported format"),
    ({"content_type": "application/zip"}, "unsupported content type"),
    ({"document_id": "../etc"}, "document id must be"),
    ({"metadata": ["a"]}, "metadata must be a JSON object"),
    ({"metadata": {"title": 3}}, "metadata title must be a string"),
    ({"metadata": {"x": "y" * 20000}}, "metadata too large"),
])
def test_unusable_submissions_are_rejected_and_nothing_is_stored(settings, kwargs, reason):
    settings.DOCUMENT_MAX_BYTES = 64
    arguments = {"name": "a.txt", "data": b"words", "content_type": None, "document_id": None, "metadata": {},
                 **kwargs}
    with pytest.raises(Rejected) as refused:
        submit_document(**arguments)
    assert reason in str(refused.value) and "\n" not in str(refused.value)
    assert not Upload.objects.exists() and not ProcrastinateJob.objects.filter(task_name="jobs.ingest_upload").exists()


def test_deletion_of_a_bad_id_is_rejected():
    with pytest.raises(Rejected):
        submit_deletion("no spaces allowed")


def test_one_reconcile_and_one_reembed_wait_at_most():
    first = submit_reconcile(repair=False)
    assert submit_reconcile() == first  # still queued: the same job
    assert get_job(first).task == "reconcile"
    reembed = submit_reembed()
    assert submit_reembed() == reembed != first


def test_only_store_outages_are_retried_with_capped_backoff(settings):
    settings.JOBS_RETRY_ATTEMPTS, settings.JOBS_RETRY_INITIAL_WAIT, settings.JOBS_RETRY_MAX_WAIT = 3, 2.0, 5.0
    assert [backoff_seconds(n) for n in range(4)] == [2.0, 4.0, 5.0, 5.0]
    strategy = StoreOutageRetry()

    class Job:
        attempts = 0

    job = Job()
    assert strategy.get_retry_decision(exception=TransientJobError("Milvus down"), job=job) is not None
    assert strategy.get_retry_decision(exception=ConnectionRefusedError(), job=job) is not None
    assert strategy.get_retry_decision(exception=JobFailed("bad PDF"), job=job) is None
    assert strategy.get_retry_decision(exception=ValueError("bug"), job=job) is None
    job.attempts = 3
    assert strategy.get_retry_decision(exception=TransientJobError("Milvus down"), job=job) is None
    assert services.document_lock("a") == "document:a"


def test_ingest_enqueue_queues_each_file_under_its_file_id(tmp_path):
    import io

    from django.core.management import call_command

    from ingestion.services import document_id_for

    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.md").write_bytes(TEXT)
    (tmp_path / "kb" / "b.png").write_bytes(b"\x89PNG")
    out = io.StringIO()
    call_command("ingest", str(tmp_path / "kb"), "--enqueue", "--chunk-size", "400", stdout=out)
    lines = out.getvalue().splitlines()
    document_id = document_id_for("kb/a.md")
    assert lines[0].startswith("job ") and f"  {document_id}  " in lines[0], lines
    assert "skipped" in lines[1] and "unsupported extension .png" in lines[1]
    assert lines[-1].startswith("queued 1, skipped 1")
    upload = Upload.objects.get(document_id=document_id)
    assert (upload.source_path, upload.name, bytes(upload.data)) == ("kb/a.md", "a.md", TEXT)
    job = ProcrastinateJob.objects.get(task_name="jobs.ingest_upload")
    assert job.args == {"upload_id": upload.pk, "document_id": document_id, "chunk_size": 400, "chunk_overlap": 150}
    assert job.lock == f"document:{document_id}"


def test_jobs_worker_refuses_milvus_lite_in_one_line(settings, tmp_path):
    import io

    from django.core.management import call_command

    settings.MILVUS_URI = str(tmp_path / "lite.db")
    out = io.StringIO()
    call_command("jobs_worker", stdout=out)
    assert out.getvalue().count("\n") == 1 and "no worker started: MILVUS_URI is a Milvus Lite file" in out.getvalue()

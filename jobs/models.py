"""What a job needs beyond procrastinate's own tables: an upload's bytes, and each job's outcome.

Procrastinate keeps the queue (procrastinate_jobs, procrastinate_events: status, attempts, timestamps) but
no error text or result; `JobOutcome` holds them, written by the job itself (jobs/runner.py).
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from rag_data.models import IDENTIFIER_MAX


class Upload(models.Model):
    """A document's bytes, waiting for its ingest job: in PostgreSQL so that a worker on any machine can run
    it. Deleted when the job has succeeded (or when its content can never be ingested)."""

    document_id = models.CharField(max_length=IDENTIFIER_MAX, db_index=True)
    name = models.CharField(max_length=255, help_text="the name it was sent under (its extension gives the format)")
    content_type = models.CharField(max_length=255, blank=True, default="")
    # `ingest --enqueue`: the file's source path (its id comes from it); empty for an upload (upload://NAME).
    source_path = models.CharField(max_length=1024, blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    data = models.BinaryField()
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(size__gt=0), name="jobs_upload_not_empty")]

    def __str__(self) -> str:
        return f"{self.name} -> {self.document_id}"


class JobOutcome(models.Model):
    """The last word of a job's run: its error (one redacted line) or its result. Keyed by procrastinate's job id."""

    job_id = models.BigIntegerField(primary_key=True)
    task = models.CharField(max_length=128)
    document_id = models.CharField(max_length=IDENTIFIER_MAX, blank=True, default="", db_index=True)
    error = models.TextField(blank=True, default="")
    result = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-job_id"]

    def __str__(self) -> str:
        return f"job {self.job_id} ({self.task})"

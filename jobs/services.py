"""Queue work (the API and commands call these): a document's upload, its deletion, reconcile, reembed.

Each submission is one PostgreSQL transaction: the upload's bytes (jobs.models.Upload) and the job row are
committed together or not at all, so nothing is left half-submitted. Unusable input raises `Rejected` (one
line) before anything is stored. A document's jobs carry procrastinate's `lock="document:<id>"`: they run
one at a time, in the order they were queued, whichever worker takes them (docs/jobs.md says why `lock`
and not `queueing_lock` for documents).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction
from procrastinate import exceptions as queue_errors

from ingestion.formats import Skip
from ingestion.sources import discover, read_bytes
from ingestion.uploads import Unusable, check_document_id, check_upload
from jobs import tasks
from jobs.models import Upload

METADATA_MAX_BYTES = 16 * 1024


class Rejected(ValueError):
    """The submission cannot be queued (empty, too large, unsupported, bad id ...); one line for the client."""


@dataclass(frozen=True)
class Submission:
    job_id: int
    document_id: str


def document_lock(document_id: str) -> str:
    """The procrastinate lock shared by every job of one document."""
    return f"document:{document_id}"


def submit_document(*, name: str, data: bytes, content_type: str | None, document_id: str | None,
                    metadata: dict) -> Submission:
    """Queue the ingestion of an uploaded document (bytes kept in PostgreSQL until its job has run)."""
    limit = settings.DOCUMENT_MAX_BYTES
    if data is not None and len(data) > limit:  # before parsing anything
        raise Rejected(f"document too large ({len(data)} bytes > DOCUMENT_MAX_BYTES={limit})")
    metadata = _check_metadata(metadata)
    try:
        checked = check_upload(name=name, data=data, content_type=content_type, document_id=document_id,
                               max_bytes=limit)
    except Unusable as error:
        raise Rejected(str(error)) from None
    upload = Upload(document_id=checked.document_id, name=checked.name, content_type=content_type or "",
                    metadata=metadata, data=bytes(data), size=len(data),
                    sha256=hashlib.sha256(data).hexdigest())
    return _queue_upload(upload)


def _queue_upload(upload: Upload, chunk_size: int | None = None, chunk_overlap: int | None = None) -> Submission:
    with transaction.atomic():
        upload.save()
        arguments = {"upload_id": upload.pk, "document_id": upload.document_id}
        if chunk_size is not None:
            arguments.update(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        job_id = tasks.ingest_upload.configure(lock=document_lock(upload.document_id)).defer(**arguments)
    return Submission(job_id, upload.document_id)


def submit_deletion(document_id: str) -> Submission:
    """Queue the deletion of a document from the three stores (after any job of it queued before)."""
    try:
        check_document_id(document_id)
    except Unusable as error:
        raise Rejected(str(error)) from None
    job_id = tasks.delete_document.configure(lock=document_lock(document_id)).defer(document_id=document_id)
    return Submission(job_id, document_id)


def submit_reconcile(*, repair: bool = True) -> int:
    """Queue a reconcile (a dry run when repair is False). One waits in the queue at most: while one does,
    its id is returned again."""
    return _defer_once(tasks.reconcile, "reconcile", repair=repair)


def submit_reembed() -> int:
    """Queue a reembed with the workers' EMBEDDER (one waits in the queue at most; its id is returned)."""
    return _defer_once(tasks.reembed, "reembed")


def _defer_once(task, queueing_lock: str, **arguments) -> int:
    try:
        return task.defer(**arguments)
    except queue_errors.AlreadyEnqueued:
        from jobs.selectors import queued_job_id

        waiting = queued_job_id(queueing_lock)
        if waiting is None:  # it started in the meantime: queue another
            return task.defer(**arguments)
        return waiting


@dataclass(frozen=True)
class EnqueuedFiles:
    submissions: list[tuple[str, Submission]]  # (path, submission)
    skipped: list[dict]  # {"path", "reason"}


def submit_paths(paths: Iterable[str | Path], *, id_prefix: str = "", chunk_size: int | None = None,
                 chunk_overlap: int | None = None) -> EnqueuedFiles:
    """`manage.py ingest --enqueue`: each file's bytes queued under the id and source path a synchronous
    ingest gives it, so a worker on any machine ingests exactly what `ingest` would have."""
    sources, skipped = discover(paths, id_prefix)
    submitted = []
    for source in sources:
        try:
            data = read_bytes(source.path, settings.INGEST_MAX_FILE_BYTES)
        except Skip as reason:
            skipped.append({"path": str(source.path), "reason": str(reason)})
            continue
        if not data:
            skipped.append({"path": str(source.path), "reason": "empty file"})
            continue
        upload = Upload(document_id=source.document_id, name=source.path.name, source_path=source.relative,
                        data=data, size=len(data), sha256=hashlib.sha256(data).hexdigest())
        submitted.append((str(source.path), _queue_upload(upload, chunk_size, chunk_overlap)))
    return EnqueuedFiles(submitted, skipped)


def _check_metadata(metadata: Mapping | None) -> dict:
    import json

    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise Rejected("metadata must be a JSON object")
    try:
        encoded = json.dumps(dict(metadata), allow_nan=False)
    except (TypeError, ValueError):
        raise Rejected("metadata must be JSON (strings, numbers, booleans, lists, objects)") from None
    if len(encoded) > METADATA_MAX_BYTES:
        raise Rejected(f"metadata too large ({len(encoded)} bytes of JSON > {METADATA_MAX_BYTES})")
    title = metadata.get("title")
    if title is not None and not isinstance(title, str):
        raise Rejected("metadata title must be a string")
    return dict(metadata)

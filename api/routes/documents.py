"""Documents over HTTP: upload (a job ingests it), list and read the ledger, delete (a job), and jobs.

Scope `documents`. Thin: the checks of what can become a document and the queueing are jobs.services', the
reads rag_data.selectors' and jobs.selectors', reading an upload's fields api.uploads'. Uploads are bounded before
they are read (DOCUMENT_MAX_BYTES for a file, API_MAX_BODY_BYTES for JSON text), and nothing is stored unless the
job is queued with them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from django.http import JsonResponse
from ninja import Query, Router

from api import body, uploads
from api.auth import KeyAuth
from api.errors import ApiError
from api.methods import only
from api.schemas import ERRORS, DocumentDetail, DocumentPage, DocumentTextIn, Job, Submitted
from jobs import selectors as job_selectors
from jobs import services as jobs
from rag_data import selectors

router = Router(tags=["documents"], auth=KeyAuth("documents"))
MULTIPART = "multipart/form-data"
MAX_PAGE_SIZE = 100
NOT_FOUND = {404: ERRORS[400]}
# jobs.services.Rejected messages -> status: too big, not a format we take, else unusable input.
REJECTED_STATUS = (("document too large", 413), ("unsupported", 415), ("content type", 415))

UPLOAD_BODY = {"requestBody": {"required": True, "content": {
    MULTIPART: {"schema": {"type": "object", "required": ["file"], "properties": {
        "file": {"type": "string", "format": "binary", "description": "the document (.txt .md .rst .html .pdf)"},
        "id": {"type": "string", "description": "document id (default: upload- + SHA-256 of the bytes)"},
        "metadata": {"type": "string", "description": "a JSON object; `title` becomes the title"}}}},
    body.JSON: {"schema": DocumentTextIn.model_json_schema()},
}}}


@router.post("/documents", response={202: Submitted, **ERRORS}, openapi_extra=UPLOAD_BODY,
             summary="Upload a document: a job ingests it into the three stores")
def upload(request):
    """A file (multipart/form-data, field `file`) or text (JSON). Answers 202 with the job to follow."""
    if request.content_type == MULTIPART:
        submission = _submit(**uploads.from_multipart(request))
    elif request.content_type == body.JSON:
        payload = body.read(request, DocumentTextIn)
        submission = _submit(**uploads.from_json_text(payload))
    else:
        raise ApiError(415, "send the document as multipart/form-data (a `file` field) or as JSON "
                            "({\"text\": ...}) with 'Content-Type: application/json'")
    return _accepted(submission)


@router.get("/documents", response={200: DocumentPage, **ERRORS}, summary="Documents of the ledger, a page at a time")
def list_documents(request, status: Literal["pending", "complete", "failed", "deleting"] | None = None,
                   page: int = Query(1, ge=1), page_size: int = Query(20, ge=1, le=MAX_PAGE_SIZE)):
    count, rows = selectors.documents_page(status=status, offset=(page - 1) * page_size, limit=page_size)
    return JsonResponse({"count": count, "page": page, "page_size": page_size, "results": [_document(r) for r in rows]})


@router.get("/documents/{document_id}", response={200: DocumentDetail, **NOT_FOUND, **ERRORS},
            summary="A document: its status in each store, chunks, last error, latest jobs")
def get_document(request, document_id: str):
    row = selectors.document_detail(document_id)
    recent = job_selectors.jobs_of_document(document_id, limit=10)
    if row is None and not recent:
        raise ApiError(404, f"document_id: no document with id {document_id}")
    document = _document(row) if row is not None else _queued(document_id)
    return JsonResponse({**document, "jobs": [_job(job) for job in recent]})


@router.delete("/documents/{document_id}", response={202: Submitted, **NOT_FOUND, **ERRORS},
               summary="Delete a document from the three stores (a job)")
def delete_document(request, document_id: str):
    if selectors.document_detail(document_id) is None and not job_selectors.jobs_of_document(document_id, limit=1):
        raise ApiError(404, f"document_id: no document with id {document_id}")
    submission = _rejected_as_4xx(jobs.submit_deletion, document_id)
    return _accepted(submission)


@router.get("/jobs/{job_id}", response={200: Job, **NOT_FOUND, **ERRORS}, summary="A job: status, attempts, error")
def get_job(request, job_id: int):
    job = job_selectors.get_job(job_id)
    if job is None:
        raise ApiError(404, f"job_id: no job with id {job_id}")
    return JsonResponse(_job(job))


only(router, "/documents", "GET", "POST")
only(router, "/documents/{document_id}", "GET", "DELETE")
only(router, "/jobs/{job_id}", "GET")


def _submit(**arguments) -> jobs.Submission:
    return _rejected_as_4xx(jobs.submit_document, **arguments)


def _accepted(submission: jobs.Submission) -> JsonResponse:
    """202 with the job to follow, in the body and in Location."""
    response = JsonResponse({"job_id": submission.job_id, "document_id": submission.document_id}, status=202)
    response["Location"] = f"/api/jobs/{submission.job_id}"
    return response


def _rejected_as_4xx(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except jobs.Rejected as error:
        message = str(error)
        status = next((code for start, code in REJECTED_STATUS if message.startswith(start)), 400)
        raise ApiError(status, message) from None


def _when(value) -> str | None:
    return value.isoformat() if value is not None else None


def _document(row: dict) -> dict:
    return {"document_id": row["document_id"], "title": row["title"], "source_path": row["source_path"],
            "status": row["status"], "stores": {"postgres": row["in_postgres"], "milvus": row["in_milvus"],
                                                "neo4j": row["in_neo4j"]},
            "chunks": row["chunk_count"], "last_error": row["last_error"],
            "created_at": _when(row["created_at"]), "updated_at": _when(row["updated_at"])}


def _queued(document_id: str) -> dict:
    """A document whose ingest job has not begun: no ledger row yet."""
    return {"document_id": document_id, "title": "", "source_path": "", "status": "queued",
            "stores": {"postgres": False, "milvus": False, "neo4j": False}, "chunks": 0, "last_error": "",
            "created_at": None, "updated_at": None}


def _job(job) -> dict:
    view = asdict(job)
    return {**view, **{name: _when(view[name]) for name in ("queued_at", "started_at", "finished_at")}}



"""What an upload to POST /api/documents holds, read from a multipart form or a JSON body, as the keyword
arguments of jobs.services.submit_document (name, data, content_type, document_id, metadata).

Kept apart from the view so that the view only routes; the sizes are bounded here before anything is read
(DOCUMENT_MAX_BYTES for a file), and what the bytes may become is for jobs.services to decide.
"""

from __future__ import annotations

import json

from django.conf import settings

from api.errors import ApiError, BadRequest

FORM_OVERHEAD = 64 * 1024  # multipart boundaries, headers, the id and metadata fields


def from_multipart(request) -> dict:
    """A multipart/form-data upload (fields file, id, metadata), its size refused before the body is read."""
    length = int(request.META.get("CONTENT_LENGTH") or 0)
    if length > settings.DOCUMENT_MAX_BYTES + FORM_OVERHEAD:  # refused before Django reads (and spools) it
        raise ApiError(413, f"document too large ({length} bytes > DOCUMENT_MAX_BYTES={settings.DOCUMENT_MAX_BYTES})")
    unknown = sorted(set(request.POST) - {"id", "metadata"} | set(request.FILES) - {"file"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: file, id, metadata")
    upload = request.FILES.get("file")
    if upload is None:
        raise BadRequest("missing field(s): file")
    if upload.size > settings.DOCUMENT_MAX_BYTES:
        raise ApiError(413, f"document too large ({upload.size} bytes > DOCUMENT_MAX_BYTES="
                            f"{settings.DOCUMENT_MAX_BYTES})")
    metadata = None
    if request.POST.get("metadata"):
        try:
            metadata = json.loads(request.POST["metadata"])
        except ValueError as error:
            raise BadRequest(f"metadata: malformed JSON: {error}") from None
    return {"name": upload.name or "", "data": upload.read(), "content_type": upload.content_type,
            "document_id": request.POST.get("id") or None, "metadata": metadata}


def from_json_text(payload: dict) -> dict:
    """A JSON upload: the document as `text` (UTF-8 encoded here), with an optional name, content type and id."""
    text = payload["text"]
    if not isinstance(text, str) or not text:
        raise BadRequest("text: expected the document as non-empty text")
    for name in ("name", "content_type", "id"):
        if payload.get(name) is not None and not isinstance(payload[name], str):
            raise BadRequest(f"{name}: expected text, got {type(payload[name]).__name__}")
    content_type = payload.get("content_type") or (None if payload.get("name") else "text/plain")
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadRequest("text: is not valid Unicode text") from None
    return {"name": payload.get("name") or "", "data": data, "content_type": content_type,
            "document_id": payload.get("id") or None, "metadata": payload.get("metadata")}

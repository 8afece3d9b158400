"""The JSON body of POST /api/search and /api/feedback (and its fields), read as strictly and worded as before
django-ninja.

django-ninja would parse the body itself and answer its own 422 shape; these endpoints promise exact 400/413/415
messages (docs/api.md), so they read the body here and check it against the fields of their schema (which
also describes the body in the OpenAPI document: `documented`).
"""

from __future__ import annotations

import json
import uuid

from pydantic import BaseModel

from api.errors import ApiError, BadRequest
from retrieval.params import storable

JSON = "application/json"


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def json_object(request) -> dict:
    """The body as a JSON object; 415 for another content type, 413 over API_MAX_BODY_BYTES, else 400."""
    if request.content_type != JSON:
        raise ApiError(415, "send the body as JSON with 'Content-Type: application/json'")
    body = request.body  # RequestDataTooBig over DATA_UPLOAD_MAX_MEMORY_SIZE: answered 413 by api.errors
    try:
        payload = json.loads(body, parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest("malformed JSON: nested too deeply") from None
    except UnicodeDecodeError:
        raise BadRequest("malformed JSON: the body is not UTF-8 text") from None
    except ValueError as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise BadRequest(f"the body must be a JSON object, got {type(payload).__name__}")
    return payload


def read(request, schema: type[BaseModel]) -> dict:
    """The body's fields, checked against `schema`'s: unknown ones first, then missing ones (values are checked
    by the services, whose messages name the field)."""
    payload = json_object(request)
    allowed = set(schema.model_fields)
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    required = {name for name, field in schema.model_fields.items() if field.is_required()}
    missing = sorted(required - set(payload))
    if missing:
        raise BadRequest(f"missing field(s): {', '.join(missing)}")
    return payload


def documented(schema: type[BaseModel]) -> dict:
    """openapi_extra for an operation whose JSON body `schema` describes."""
    return {"requestBody": {"required": True, "content": {JSON: {"schema": schema.model_json_schema()}}}}


def optional_text(payload: dict, name: str) -> str:
    """The text field `name` ("" when absent or null), refused when it is not text or not storable (NUL)."""
    value = payload.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name}: expected text, got {type(value).__name__}")
    storable(name, value)
    return value


def uuid_field(payload: dict, name: str) -> uuid.UUID:
    """The field `name` as a UUID; the body carries it as a string."""
    value = payload.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name}: expected a UUID string, got {type(value).__name__}")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest(f"{name}: not a valid UUID") from None

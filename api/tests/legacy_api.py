"""The JSON API as it was before django-ninja (retrieval/api.py at the last commit before the move), kept as the
reference test_compat.py compares the new endpoints with. Not served by the project.

Original docstring: JSON API: POST /api/search and POST /api/feedback.

Thin views: check the transport (method, token, content type, size, JSON), call the services, serialise.
Every error is {"error": "..."} with a 4xx/5xx status; no message ever carries a credential. CSRF does not
apply: these endpoints take no cookies, callers authenticate with `Authorization: Bearer <API_TOKEN>`.
"""

from __future__ import annotations

import functools
import hmac
import json
import logging
import uuid

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, ValidationError
from django.db import DatabaseError
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt

from core.redact import redact
from core.retry import StoreUnavailable, describe_error, is_transient
from rag_data import selectors, services
from retrieval import pipeline
from retrieval.params import InvalidParameter, storable

logger = logging.getLogger(__name__)

SEARCH_FIELDS = {"query", "k", "filters", "hops", "weights", "session_id"}
FEEDBACK_FIELDS = {"query_id", "rating", "chunk_id", "comment"}


class BadRequest(Exception):
    """The request body is unusable; the message says why and becomes a 400."""


def error(status: int, message: str, **headers) -> JsonResponse:
    """{"error": message}; the message is redacted, as messages may quote what the client sent."""
    response = JsonResponse({"error": redact(message)}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _authentication_error(request) -> JsonResponse | None:
    expected = settings.API_TOKEN
    if not expected:  # only possible in local mode: settings require API_TOKEN in production
        return None
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not given.strip():
        return error(401, "missing bearer token (send the header 'Authorization: Bearer <API_TOKEN>')",
                     WWW_Authenticate='Bearer realm="api"')
    if not hmac.compare_digest(given.strip().encode(), expected.encode()):
        return error(401, "invalid bearer token", WWW_Authenticate='Bearer realm="api", error="invalid_token"')
    return None


def _reject_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def _payload(request) -> dict:
    body = request.body  # RequestDataTooBig over DATA_UPLOAD_MAX_MEMORY_SIZE: the caller answers 413
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


def json_endpoint(allowed: set[str], required: set[str]):
    """POST-only JSON view with bearer-token auth; calls view(request, payload) with checked top-level keys."""

    def decorate(view):
        @csrf_exempt
        @functools.wraps(view)
        def wrapper(request):
            if request.method != "POST":
                return error(405, f"method {request.method} not allowed; use POST", Allow="POST")
            denied = _authentication_error(request)
            if denied is not None:
                return denied
            if request.content_type != "application/json":
                return error(415, "send the body as JSON with 'Content-Type: application/json'")
            try:
                payload = _payload(request)
                unknown = sorted(set(payload) - allowed)
                if unknown:
                    raise BadRequest(f"unknown field(s): {', '.join(unknown)}; "
                                     f"allowed: {', '.join(sorted(allowed))}")
                missing = sorted(required - set(payload))
                if missing:
                    raise BadRequest(f"missing field(s): {', '.join(missing)}")
                return view(request, payload)
            except RequestDataTooBig:
                return error(413, f"the body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
            except (BadRequest, InvalidParameter) as exc:
                return error(400, str(exc))
            except ValidationError as exc:
                return error(400, _validation_message(exc))
            except StoreUnavailable as exc:
                logger.warning("%s: %s", request.path, exc)
                return error(503, str(exc))
            except DatabaseError as exc:
                if is_transient(exc):
                    logger.warning("%s: PostgreSQL unreachable: %s", request.path, describe_error(exc))
                    return error(503, "PostgreSQL is unreachable")
                logger.error("%s failed: %s", request.path, describe_error(exc))
                return error(500, "internal error")
            except Exception as exc:  # a JSON 500 rather than an HTML page; details stay in the log
                logger.error("%s failed: %s", request.path, describe_error(exc))
                return error(500, "internal error")

        return wrapper

    return decorate


def _validation_message(exc: ValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in exc.message_dict.items())
    return " ".join(exc.messages)


def _optional_text(payload: dict, name: str) -> str:
    value = payload.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadRequest(f"{name}: expected text, got {type(value).__name__}")
    storable(name, value)
    return value


def _uuid(payload: dict, name: str) -> uuid.UUID:
    value = payload.get(name)
    if not isinstance(value, str):
        raise BadRequest(f"{name}: expected a UUID string, got {type(value).__name__}")
    try:
        return uuid.UUID(value)
    except ValueError:
        raise BadRequest(f"{name}: not a valid UUID") from None


@json_endpoint(allowed=SEARCH_FIELDS, required={"query"})
def search(request, payload):
    session = None
    if payload.get("session_id") is not None:
        session = services.touch_session(session_id=_uuid(payload, "session_id"))
    result = pipeline.search(
        payload["query"], k=payload.get("k"), filters=payload.get("filters"), hops=payload.get("hops"),
        weights=payload.get("weights"), session=session,
    )
    return JsonResponse({
        "query_id": str(result.query_id),
        "results": [dict(hit.as_dict(), rank=rank) for rank, hit in enumerate(result.hits, start=1)],
        "latency_ms": result.latency_ms,
    })


@json_endpoint(allowed=FEEDBACK_FIELDS, required={"query_id", "rating"})
def feedback(request, payload):
    query_id = _uuid(payload, "query_id")
    if not selectors.query_exists(query_id):
        return error(404, f"query_id: no query with id {query_id}")
    rating = payload["rating"]
    if isinstance(rating, bool) or not isinstance(rating, int):
        raise BadRequest(f"rating: expected -1, 0 or 1, got {rating!r}")
    created = services.record_feedback(
        query_id=query_id, rating=rating, chunk_id=_optional_text(payload, "chunk_id"), comment=_optional_text(payload, "comment"),
    )
    return JsonResponse({"feedback_id": created.pk}, status=201)

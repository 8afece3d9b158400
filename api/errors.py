"""Every API error is {"error": "<one line>"} with its status; this module turns exceptions into that.

Wording: lower case (but for names: PostgreSQL, Neo4j, ...), no final full stop, `field: problem` when a field
is at fault. Messages are redacted: they may quote what the client sent. Nothing here shows a traceback or a
framework's own error shape (django-ninja's 422 body, Django's HTML pages).
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError
from django.http import Http404, JsonResponse
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from core.redact import redact
from core.retry import StoreUnavailable, describe_error, is_transient
from retrieval.params import InvalidParameter

logger = logging.getLogger("api")

MISSING_TOKEN = "missing bearer token (send the header 'Authorization: Bearer <key>')"


class BadRequest(ValueError):
    """The request is unusable; the message says why and becomes a 400."""


class ApiError(Exception):
    """An answer other than success: status, one-line message, extra headers (WWW_Authenticate -> WWW-Authenticate)."""

    def __init__(self, status: int, message: str, **headers: str):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


def error(status: int, message: str, **headers) -> JsonResponse:
    response = JsonResponse({"error": redact(message)}, status=status)
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def styled(message: str) -> str:
    """One wording style: first letter lower case unless the word is a name or a code, no final full stop."""
    message = " ".join(str(message).split()).rstrip(".")
    first = message.split(" ", 1)[0]
    if first[:1].isupper() and first[1:].islower():
        message = message[:1].lower() + message[1:]
    return message


def validation_message(exc: DjangoValidationError) -> str:
    if hasattr(exc, "error_dict"):
        return "; ".join(f"{field}: {styled(' '.join(messages))}" for field, messages in exc.message_dict.items())
    return styled(" ".join(exc.messages))


def _field(loc) -> str:
    parts = [str(part) for part in loc[1:] if not isinstance(part, int)]  # loc[0] is body/query/path/form
    return ".".join(parts) or str(loc[0])


def ninja_validation_message(errors: list[dict]) -> str:
    """django-ninja's 422 error list as today's 400 wording: unknown fields, then missing ones, then the rest."""
    unknown = sorted({_field(e["loc"]) for e in errors if e.get("type") == "extra_forbidden"})
    if unknown:
        return f"unknown field(s): {', '.join(unknown)}"
    missing = sorted({_field(e["loc"]) for e in errors if e.get("type") == "missing"})
    if missing:
        return f"missing field(s): {', '.join(missing)}"
    return "; ".join(f"{_field(e['loc'])}: {styled(e.get('msg', 'invalid value'))}" for e in errors[:5])


def handle_error(request, exc) -> JsonResponse:  # noqa: C901 -- one table of exception -> answer
    if isinstance(exc, ApiError):
        return error(exc.status, exc.message, **exc.headers)
    if isinstance(exc, NinjaValidationError):
        return error(400, ninja_validation_message(exc.errors))
    if isinstance(exc, AuthenticationError):
        return error(401, MISSING_TOKEN, WWW_Authenticate='Bearer realm="api"')
    if isinstance(exc, HttpError):
        cause = exc.__cause__
        return error(exc.status_code, f"malformed request body: {cause}" if cause else styled(exc.message))
    if isinstance(exc, Http404):
        return error(404, f"no API endpoint at {request.path}")
    if isinstance(exc, RequestDataTooBig):
        return error(413, f"the body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes")
    if isinstance(exc, DjangoValidationError):
        return error(400, validation_message(exc))
    if isinstance(exc, (BadRequest, InvalidParameter)):
        return error(400, str(exc))
    if isinstance(exc, StoreUnavailable):
        logger.warning("%s: %s", request.path, exc)
        return error(503, str(exc))
    if isinstance(exc, DatabaseError) and is_transient(exc):
        logger.warning("%s: PostgreSQL unreachable: %s", request.path, describe_error(exc))
        return error(503, "PostgreSQL is unreachable")
    logger.error("%s failed: %s", request.path, describe_error(exc))  # a JSON 500; details stay in the log
    return error(500, "internal error")


def install(api) -> None:
    """Route every exception the NinjaAPI meets through handle_error (its defaults answer 422s and HTML)."""
    for exc_class in (Exception, ApiError, NinjaValidationError, HttpError, Http404):
        api.add_exception_handler(exc_class, handle_error)

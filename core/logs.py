"""Log lines with time, level, logger and request id: JSON in production, readable text locally.

Standard library only (no Django), so gunicorn's master process can use the same formatters for its own
lines (infrastructure/gunicorn.conf.py). The request id lives in a context variable set by
observability.middleware.RequestIdMiddleware for the duration of a request (and copied into the search
worker threads); `RequestIdFilter` puts it on every record as `request_id` ("-" outside a request).
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import uuid

REQUEST_ID: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
# What a caller's X-Request-ID may hold to be kept as is (anything else is replaced by a generated id, so a
# header cannot forge log lines or fill them up).
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
# LogRecord's own attributes: everything else on a record came from `extra=` and is written as a field.
_RECORD_FIELDS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime",
                                                                                      "request_id"}


def request_id_from(header: str | None) -> str:
    """The caller's request id when it is a sane token, else a new one (32 hex digits)."""
    if header and _VALID_REQUEST_ID.match(header.strip()):
        return header.strip()
    return uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (attached to the handler, so drivers' records get it too)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.datetime.fromtimestamp(record.created, tz=datetime.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _extra(record: logging.LogRecord) -> dict:
    return {key: value for key, value in vars(record).items() if key not in _RECORD_FIELDS and not key.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, request_id, message, extra fields, and the
    exception's type and one-line text (never a multi-line traceback: that is what `exc_trace` holds)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "request_id": getattr(record, "request_id", REQUEST_ID.get()),
            "message": record.getMessage(),
        }
        for key, value in _extra(record).items():
            entry.setdefault(key, value)
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            entry["exc_type"] = type(error).__name__
            entry["exc_trace"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`2026-11-25 20:31:02,123 INFO    retrieval.api [9f1c2a...] message`: for a terminal (extra fields are left to
    the JSON format; the message says what a person needs)."""

    def __init__(self, *args, **kwargs):
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return super().format(record)


def formatter_for(kind: str) -> str:
    """The dotted path of the formatter class for LOG_FORMAT `kind` (json or text)."""
    return {"json": "core.logs.JsonFormatter", "text": "core.logs.TextFormatter"}[kind]

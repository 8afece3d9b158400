"""Remove credentials from text before it reaches a log line, an exception, a health report or a repr."""

from __future__ import annotations

import logging
import re

_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^:/@\s]*):(?P<password>[^@\s]*)@")
_KEY_VALUE = re.compile(r"(?i)\b(password|passwd|pwd|token|secret|api_key|apikey)(\s*[=:]\s*)(['\"]?)[^\s'\",;]+\3")
# A per-client API key (apikeys): the public prefix stays readable, the secret is masked.
_API_KEY = re.compile(r"\b(rag_[0-9a-f]{8}_)[A-Za-z0-9_-]{20,100}")
MASK = "***"


def secret_values() -> list[str]:
    """The configured secrets, longest first so a secret containing another is masked whole."""
    from django.conf import settings

    if not settings.configured:
        return []
    values = [
        getattr(settings, "NEO4J_PASSWORD", ""),
        getattr(settings, "MILVUS_TOKEN", ""),
        getattr(settings, "SECRET_KEY", ""),
        getattr(settings, "API_TOKEN", ""),
        getattr(settings, "METRICS_TOKEN", ""),
        getattr(settings, "EMBEDDER_API_KEY", ""),
        getattr(settings, "EXTRACTOR_API_KEY", ""),
        settings.DATABASES.get("default", {}).get("PASSWORD", "") if hasattr(settings, "DATABASES") else "",
    ]
    return sorted({v for v in values if v and len(v) >= 3}, key=len, reverse=True)


def redact(text: str) -> str:
    text = _URL_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", str(text))
    text = _KEY_VALUE.sub(lambda m: f"{m[1]}{m[2]}{MASK}", text)
    text = _API_KEY.sub(lambda m: f"{m[1]}{MASK}", text)
    for value in secret_values():
        text = text.replace(value, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that masks credentials in every record, whoever logs it (drivers included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True
        cleaned = redact(message)
        if record.exc_info and record.exc_info[1] is not None:
            exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = redact(exc_text)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        return True


class OneLineErrorFilter(logging.Filter):
    """For loggers named by `prefixes` (e.g. the job queue's worker, which logs every failed job with its
    traceback): the exception becomes one redacted line at the end of the message, no traceback."""

    def __init__(self, prefixes: tuple[str, ...] = ("procrastinate",)):
        super().__init__()
        self.prefixes = tuple(prefixes)

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self.prefixes) or not record.exc_info or record.exc_info[1] is None:
            return True
        from core.retry import describe_error

        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg, record.args = f"{message}: {describe_error(record.exc_info[1])}", None
        record.exc_info, record.exc_text = None, None
        return True

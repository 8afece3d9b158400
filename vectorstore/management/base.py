"""Shared error handling for the Milvus commands: expected failures become one-line CommandErrors."""

from __future__ import annotations

from contextlib import contextmanager

from django.core.management.base import CommandError

from core.redact import redact
from core.retry import StoreUnavailable
from vectorstore.client import VectorStoreError


@contextmanager
def milvus_errors():
    """Turn store-down and store-refused errors into CommandError (no traceback, no secret)."""
    try:
        yield
    except (StoreUnavailable, VectorStoreError, ValueError) as error:
        raise CommandError(" ".join(redact(str(error)).split())) from None

"""Reads of API keys: the key a bearer token stands for, and the listing."""

from __future__ import annotations

import hashlib
import hmac
import re

from django.db.models import QuerySet

from apikeys.models import ApiKey

KEY_FORMAT = re.compile(r"^rag_(?P<prefix>[0-9a-f]{8})_[A-Za-z0-9_-]{20,100}$")
_NO_HASH = "0" * 64  # compared against when no row matches, so a miss costs what a hit does


class KeyNotFound(LookupError):
    """No key has that name or prefix; the message is one line."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "no such API key"


def key_for_token(token: str) -> ApiKey | None:
    """The active key whose SHA-256 matches `token`, or None (unknown, malformed, revoked or expired)."""
    match = KEY_FORMAT.match(token or "")
    if match is None:
        return None
    row = ApiKey.objects.filter(prefix=match["prefix"]).first()
    given = hashlib.sha256(token.encode()).hexdigest()
    if not hmac.compare_digest(given, row.secret_hash if row else _NO_HASH) or row is None:
        return None
    return row if row.is_active else None


def find_key(name_or_prefix: str) -> ApiKey | None:
    text = (name_or_prefix or "").strip()
    match = re.match(r"^(?:rag_)?([0-9a-f]{8})(?:_.*)?$", text)
    by_name = ApiKey.objects.filter(name=text).first()
    if by_name is not None or match is None:
        return by_name
    return ApiKey.objects.filter(prefix=match[1]).first()


def listing() -> QuerySet[ApiKey]:
    return ApiKey.objects.order_by("name")

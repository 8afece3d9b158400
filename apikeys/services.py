"""Writes of API keys: make one (the key is returned once, only its SHA-256 is stored), revoke, note use."""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from apikeys.models import NAME, NAME_MAX, PREFIX_LENGTH, ApiKey, Scope
from apikeys.selectors import KeyNotFound, find_key

LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at moves at most this often: one UPDATE a minute per key
MAX_EXPIRY_DAYS = 3650
_NAME = re.compile(NAME)


class InvalidKeyRequest(ValueError):
    """A key cannot be made as asked; the message is one line for the admin or the command."""


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def checked_scopes(scopes) -> list[str]:
    if isinstance(scopes, str):
        scopes = [part.strip() for part in scopes.split(",") if part.strip()]
    scopes = list(dict.fromkeys(scopes or []))
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown or not scopes:
        raise InvalidKeyRequest(f"scopes: expected one or more of {', '.join(Scope.values)}, "
                                f"got {', '.join(map(str, unknown or scopes)) or 'none'}")
    return scopes


def create_key(*, name: str, scopes, expires_in_days: int | None = None) -> tuple[ApiKey, str]:
    """A new active key; returns (row, key). The key is not stored anywhere: show it to its owner now."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX or not _NAME.match(name):
        raise InvalidKeyRequest(f"name: 1-{NAME_MAX} letters, digits, '.', '_' or '-', starting with a letter or "
                                f"digit, got {name!r}")
    scopes = checked_scopes(scopes)
    expires_at = None
    if expires_in_days is not None:
        if isinstance(expires_in_days, bool) or not isinstance(expires_in_days, int) \
                or not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
            raise InvalidKeyRequest(f"expires: a whole number of days from 1 to {MAX_EXPIRY_DAYS}, "
                                    f"got {expires_in_days!r}")
        expires_at = timezone.now() + timedelta(days=expires_in_days)
    if ApiKey.objects.filter(name=name).exists():
        raise InvalidKeyRequest(f"name: a key named {name!r} exists already (revoked keys keep their name)")
    for _ in range(5):  # a prefix collision (1 in 4 billion per key) draws again
        prefix = secrets.token_hex(PREFIX_LENGTH // 2)
        key = f"rag_{prefix}_{secrets.token_urlsafe(32)}"
        try:
            with transaction.atomic():
                row = ApiKey.objects.create(name=name, prefix=prefix, secret_hash=digest(key), scopes=scopes,
                                            expires_at=expires_at)
            return row, key
        except IntegrityError:
            if ApiKey.objects.filter(name=name).exists():
                raise InvalidKeyRequest(f"name: a key named {name!r} exists already") from None
    raise InvalidKeyRequest("could not draw an unused prefix; try again")


def revoke_key(name_or_prefix: str) -> ApiKey:
    """Revoke the key with this name or prefix (also `rag_<prefix>...`); revoking twice keeps the first time."""
    key = find_key(name_or_prefix)
    if key is None:
        raise KeyNotFound(f"no API key named or prefixed {name_or_prefix!r}")
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    key.refresh_from_db(fields=["revoked_at"])
    return key


def revoke_keys(queryset) -> int:
    return queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def note_use(key: ApiKey) -> None:
    """Move last_used_at to now, at most once a minute per key (an UPDATE on every request would be a hot row)."""
    now = timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_EVERY:
        return
    ApiKey.objects.filter(pk=key.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
    ).update(last_used_at=now)
    key.last_used_at = now

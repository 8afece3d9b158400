"""Per-client API keys: a name, a public prefix, the SHA-256 of the whole key (never the key), scopes, usage.

A key reads `rag_<prefix>_<secret>`: the prefix (8 hex digits) finds the row, the secret (256 random bits)
proves possession. 256 random bits need no slow password hash: SHA-256 of the whole key is stored and compared
in constant time (apikeys.services.authenticate). The key itself is shown once, when it is made.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils import timezone

PREFIX_LENGTH = 8
NAME_MAX = 100
NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


class Scope(models.TextChoices):
    SEARCH = "search", "search (POST /api/search)"
    FEEDBACK = "feedback", "feedback (POST /api/feedback)"
    DOCUMENTS = "documents", "documents (/api/documents, /api/jobs)"


class ApiKey(models.Model):
    name = models.CharField(max_length=NAME_MAX, unique=True, help_text="Who uses the key (a client, an app).")
    prefix = models.CharField(max_length=PREFIX_LENGTH, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False, help_text="SHA-256 of the whole key")
    scopes = ArrayField(models.CharField(max_length=16, choices=Scope.choices), default=list)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False,
                                        help_text="Updated at most once a minute")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name = "API key"
        constraints = [
            models.CheckConstraint(condition=Q(scopes__contained_by=Scope.values), name="apikeys_scopes_known"),
            models.CheckConstraint(condition=Q(name__regex=NAME), name="apikeys_name_format"),
            models.CheckConstraint(condition=Q(prefix__regex=r"^[0-9a-f]{8}$"), name="apikeys_prefix_hex"),
            models.CheckConstraint(condition=Q(secret_hash__regex=r"^[0-9a-f]{64}$"), name="apikeys_hash_sha256"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (rag_{self.prefix}_…)"

    def __repr__(self) -> str:  # never the hash
        return f"<ApiKey {self.name} rag_{self.prefix}_…>"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > timezone.now())

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= timezone.now():
            return "expired"
        return "active"


class RateCounter(models.Model):
    """One rate-limit window's request count (apikeys.ratecache, the cache django-ratelimit counts in)."""

    key = models.CharField(max_length=250, primary_key=True)
    count = models.BigIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "rate-limit counter"

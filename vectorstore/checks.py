"""System checks on the Milvus settings that need no server: mistakes that would otherwise show up late."""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import Error, Warning

from core.redact import redact
from core.uris import is_milvus_lite


def check_milvus_settings(app_configs=None, **kwargs):
    uri = settings.MILVUS_URI
    problems = []
    if is_milvus_lite(uri):
        if getattr(settings, "PRODUCTION", False):
            problems.append(Error(
                "MILVUS_URI points at a Milvus Lite file in production.",
                hint="Milvus Lite is an embedded single-process engine for local work and tests (several "
                     "gunicorn workers cannot share its file); set MILVUS_URI to the Milvus server (http://host:19530).",
                id="vectorstore.E001",
            ))
        ancestor = Path(uri).parent
        while not ancestor.exists() and ancestor != ancestor.parent:
            ancestor = ancestor.parent
        if not os.access(ancestor, os.W_OK):
            problems.append(Warning(
                f"The Milvus Lite file {uri} cannot be created: {ancestor} is not writable.",
                hint="Point MILVUS_URI at a .db path in a writable directory.",
                id="vectorstore.W002",
            ))
    elif settings.MILVUS_TOKEN:
        parts = urlsplit(uri)
        if parts.scheme in ("http", "tcp", "grpc") and not _is_loopback(parts.hostname):
            problems.append(Warning(
                f"MILVUS_TOKEN would be sent unencrypted to {redact(uri)}.",
                hint="Use an https:// MILVUS_URI for a remote Milvus server.",
                id="vectorstore.W003",
            ))
    return problems


def _is_loopback(host: str | None) -> bool:
    if not host or host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

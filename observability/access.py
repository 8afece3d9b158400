"""Who may read /metrics: a bearer METRICS_TOKEN, or a direct client in METRICS_ALLOWED_IPS.

A request that came through a proxy (X-Forwarded-For, Forwarded or X-Real-IP present) is judged by the token
alone: behind a reverse proxy on the same host every client would otherwise look like 127.0.0.1. The token is
compared in constant time, so its length and prefix cannot be guessed from response times.
"""

from __future__ import annotations

import hmac
import ipaddress

from django.conf import settings

_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def allowed(request) -> bool:
    """Whether `request` may read the metrics (the rules of this module's docstring)."""
    token = settings.METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    if any(request.headers.get(name) for name in _PROXY_HEADERS):
        return False
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in network for network in settings.METRICS_ALLOWED_IPS)

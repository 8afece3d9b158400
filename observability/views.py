"""GET /metrics: the Prometheus text format, for allowed clients only (METRICS_ALLOWED_IPS, METRICS_TOKEN).

Access: a request with `Authorization: Bearer <METRICS_TOKEN>` (when that setting is set) is always allowed;
otherwise only a direct client whose address is in METRICS_ALLOWED_IPS (default: loopback). A request that
came through a proxy (X-Forwarded-For or Forwarded present) is judged by the token alone: behind a reverse
proxy on the same host every client would otherwise look like 127.0.0.1.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, exposition, multiprocess

from observability.collectors import DriftCollector, StoreHealthCollector

_PROXY_HEADERS = ("X-Forwarded-For", "Forwarded", "X-Real-IP")


def allowed(request) -> bool:
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


def registry() -> CollectorRegistry:
    """The process's metrics (or, in multiprocess mode, every process's), plus the store gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        sources = [merged]
    else:
        sources = [REGISTRY]
    scrape = CollectorRegistry()
    for source in sources:
        scrape.register(_Forward(source))
    scrape.register(StoreHealthCollector())
    scrape.register(DriftCollector())
    return scrape


class _Forward:
    """Collects another registry's metrics (a registry cannot be registered in a registry as such)."""

    def __init__(self, source: CollectorRegistry):
        self.source = source

    def collect(self):
        return self.source.collect()


def metrics(request):
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(f"method {request.method} not allowed; use GET\n", status=405,
                            content_type="text/plain", headers={"Allow": "GET, HEAD"})
    if not allowed(request):
        return HttpResponse("metrics: access denied (allowed: METRICS_ALLOWED_IPS, or a bearer METRICS_TOKEN)\n",
                            status=403, content_type="text/plain")
    output = exposition.generate_latest(registry())
    return HttpResponse(output, content_type=exposition.CONTENT_TYPE_LATEST)

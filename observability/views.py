"""GET /metrics: the Prometheus text format, for allowed clients only (METRICS_ALLOWED_IPS, METRICS_TOKEN).

Access: a request with `Authorization: Bearer <METRICS_TOKEN>` (when that setting is set) is always allowed;
otherwise only a direct client whose address is in METRICS_ALLOWED_IPS (default: loopback); the rules are in
observability.access, the registry a scrape reads in observability.scrape.
"""

from __future__ import annotations

from django.http import HttpResponse
from prometheus_client import exposition

from observability.access import allowed
from observability.scrape import registry


def metrics(request):
    """The Prometheus text of observability.scrape.registry() for a client observability.access allows."""
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(f"method {request.method} not allowed; use GET\n", status=405,
                            content_type="text/plain", headers={"Allow": "GET, HEAD"})
    if not allowed(request):
        return HttpResponse("metrics: access denied (allowed: METRICS_ALLOWED_IPS, or a bearer METRICS_TOKEN)\n",
                            status=403, content_type="text/plain")
    output = exposition.generate_latest(registry())
    return HttpResponse(output, content_type=exposition.CONTENT_TYPE_LATEST)

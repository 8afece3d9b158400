"""One middleware at the top of the stack: the request id, the request's log line and its latency metric.

The request id is the caller's X-Request-ID when it is a sane token (letters, digits, `._:-`, at most 128),
else a generated one; it is set for every log line written while the request runs (core.logs.REQUEST_ID,
copied into the search worker threads) and echoed in the response's X-Request-ID header.
"""

from __future__ import annotations

import logging
import time

from core import logs, metrics

logger = logging.getLogger("observability.request")
# Probes and scrapes arrive every few seconds: logged at DEBUG so that they do not drown the real traffic.
QUIET_PATHS = ("/health/live/", "/metrics")


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = logs.request_id_from(request.headers.get("X-Request-ID"))
        request.request_id = request_id
        # Kept until the response is closed (request_finished, in apps.py): Django logs a server error after the
        # middleware has returned, and a streamed response (CSV export) is still being written.
        logs.REQUEST_ID.set(request_id)
        started = time.perf_counter()
        response = self.get_response(request)
        seconds = time.perf_counter() - started
        route = _route(request)
        metrics.HTTP_REQUEST_SECONDS.labels(request.method, route, str(response.status_code)).observe(seconds)
        level = logging.DEBUG if request.path in QUIET_PATHS else logging.INFO
        logger.log(level, "%s %s %d %.1fms", request.method, request.path, response.status_code, seconds * 1000,
                   extra={"method": request.method, "path": request.path, "status": response.status_code,
                          "duration_ms": round(seconds * 1000, 1), "route": route})
        response["X-Request-ID"] = request_id
        return response


def _route(request) -> str:
    """The URL pattern that matched (bounded label values: never the raw path), or "unmatched"."""
    match = getattr(request, "resolver_match", None)
    return "/" + match.route if match is not None and match.route else "unmatched"

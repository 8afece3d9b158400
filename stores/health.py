"""Readiness of the three stores and liveness of the process: the views behind /health/ and /health/live/.

Each store's check lives with its store (rag_data.health, vectorstore.health, graphstore.health) on the
bounded-probe base in core.health; this module only lists them and shapes the answer. The checks named in
settings.HEALTH_WARNING_CHECKS (the drift check) can only warn: they are reported under "checks", set the
status to "warn" and never turn the answer to 503.
"""

from __future__ import annotations

import asyncio

from django.conf import settings
from django.http import JsonResponse
from health_check.exceptions import ServiceWarning
from health_check.views import HealthCheckView

READINESS_CHECKS = (
    "rag_data.health.PostgresCheck",
    "vectorstore.health.MilvusCheck",
    "graphstore.health.Neo4jCheck",
)


def warning_only(result) -> bool:
    """A result that can only warn: from a warning-only check, or a ServiceWarning."""
    return getattr(result.check, "warning_only", False) or isinstance(result.error, ServiceWarning)


class ReadinessView(HealthCheckView):
    """All three stores; 200 when all pass, 503 naming the failing ones otherwise; warnings stay 200."""

    checks = READINESS_CHECKS + tuple(settings.HEALTH_WARNING_CHECKS)

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        if response.status_code == 500:
            failing = any(result.error and not warning_only(result) for result in self.results)
            response.status_code = 503 if failing else 200
            response.reason_phrase = "Service Unavailable" if failing else "OK"
        return response

    def render_to_response_json(self, status):
        stores, checks = {}, {}
        for result in self.results:
            warns = warning_only(result)
            state = {
                "status": "working" if not result.error else ("warning" if warns else "failing"),
                "latency_ms": round(result.time_taken * 1000, 1),
                **({("warning" if warns else "error"): str(result.error.message)} if result.error else {}),
                **getattr(result.check, "details", {}),
            }
            (checks if getattr(result.check, "warning_only", False) else stores)[repr(result.check)] = state
        failing = [name for name, state in stores.items() if state["status"] == "failing"]
        warnings = [name for name, state in {**stores, **checks}.items() if state["status"] == "warning"]
        body = {"status": "fail" if failing else ("warn" if warnings else "pass"), "failing": failing,
                "warnings": warnings, "stores": stores, "checks": checks}
        return JsonResponse(body, status=503 if failing else 200)


def liveness(request):
    """The process answers; no store is touched (for orchestrators' liveness probes)."""
    return JsonResponse({"status": "alive"})


def check_results(view: ReadinessView | None = None) -> list:
    """Run the readiness checks in this process (each bounded by its timeout); django-health-check results.
    By default the three stores' only; pass ReadinessView() for /health/'s warning-only checks too."""
    view = view or ReadinessView(checks=READINESS_CHECKS)

    async def gather():
        return await asyncio.gather(*(check.get_result() for check in view.get_checks()))

    return asyncio.run(gather())


def run_checks() -> dict[str, str | None]:
    """{store: None when healthy, else a one-line reason}: the three stores only (no warning-only check)."""
    results = check_results()
    return {repr(result.check): (str(result.error.message) if result.error else None) for result in results}

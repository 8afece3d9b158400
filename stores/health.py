"""Readiness of the three stores and liveness of the process: the views behind /health/ and /health/live/.

Each store's check lives with its store (rag_data.health, vectorstore.health, graphstore.health) on the
bounded-probe base in core.health; this module only lists them and shapes the answer.
"""

from __future__ import annotations

import asyncio

from django.http import JsonResponse
from health_check.views import HealthCheckView

READINESS_CHECKS = (
    "rag_data.health.PostgresCheck",
    "vectorstore.health.MilvusCheck",
    "graphstore.health.Neo4jCheck",
)


class ReadinessView(HealthCheckView):
    """All three stores; 200 when all pass, 503 naming the failing ones otherwise."""

    checks = READINESS_CHECKS

    async def get(self, request, *args, **kwargs):
        response = await super().get(request, *args, **kwargs)
        if response.status_code == 500:
            response.status_code = 503
            response.reason_phrase = "Service Unavailable"
        return response

    def render_to_response_json(self, status):
        stores = {
            repr(result.check): {
                "status": "working" if not result.error else "failing",
                "latency_ms": round(result.time_taken * 1000, 1),
                **({"error": str(result.error.message)} if result.error else {}),
            }
            for result in self.results
        }
        failing = [name for name, state in stores.items() if state["status"] == "failing"]
        body = {"status": "fail" if failing else "pass", "failing": failing, "stores": stores}
        return JsonResponse(body, status=503 if failing else 200)


def liveness(request):
    """The process answers; no store is touched (for orchestrators' liveness probes)."""
    return JsonResponse({"status": "alive"})


def check_results(view: ReadinessView | None = None) -> list:
    """Run every readiness check in this process (each bounded by its timeout); django-health-check results."""
    view = view or ReadinessView()

    async def gather():
        return await asyncio.gather(*(check.get_result() for check in view.get_checks()))

    return asyncio.run(gather())


def run_checks() -> dict[str, str | None]:
    """{store: None when healthy, else a one-line reason}."""
    return {repr(result.check): (str(result.error.message) if result.error else None) for result in check_results()}

"""/health/ latency with all stores up, and with each store paused in turn (SIGSTOP, as the tests do).

The view is called in-process through django.test.Client: the figure is the view's own work (the
three probes in their pool, bounded by HEALTH_CHECK_TIMEOUT), without an HTTP server's overhead.
"""

from __future__ import annotations

import io
import time

from bench.stats import summary

STORES = ("postgres", "milvus", "neo4j")


def _get(client):
    started = time.perf_counter()
    response = client.get("/health/", HTTP_ACCEPT="application/json", HTTP_HOST="127.0.0.1")
    return (time.perf_counter() - started) * 1000, response


def run(requests: int, *, pause: bool, warmup: int = 5, log=print) -> dict:
    from django.conf import settings
    from django.core.management import call_command
    from django.test import Client

    call_command("init_stores", stdout=io.StringIO())  # the bench collection exists and is loaded
    client = Client()
    for _ in range(warmup):
        _get(client)
    timings, statuses = [], {}
    for _ in range(requests):
        ms, response = _get(client)
        timings.append(ms)
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
    result = {"timeout_s": settings.HEALTH_CHECK_TIMEOUT, "all_up": {**summary(timings), "statuses": statuses},
              "paused": {}}
    if not pause:
        result["paused"] = "not run (--no-pause)"
        return result
    from tests.integration.engines import eventually, paused

    for store in STORES:
        log(f"health: {store} paused")
        with paused(store):
            first_ms, first = _get(client)
            second_ms, second = _get(client)
        recovered_started = time.perf_counter()
        recovered = eventually(lambda: _get(client)[1].status_code == 200, timeout=120, interval=0.5)
        result["paused"][store] = {
            "first_ms": round(first_ms, 1), "first_status": first.status_code,
            "first_failing": first.json().get("failing"),
            "second_ms": round(second_ms, 1), "second_status": second.status_code,
            "within_timeout": first_ms / 1000 <= settings.HEALTH_CHECK_TIMEOUT + 0.5,
            "recovered_after_s": round(time.perf_counter() - recovered_started, 1) if recovered else None,
        }
    return result

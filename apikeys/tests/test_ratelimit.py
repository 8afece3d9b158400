"""Rate limiting per key (django-ratelimit) on counters in PostgreSQL (apikeys.ratecache): atomic across
threads, 429 with Retry-After over the limit, one key's traffic never spends another's."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.core import checks
from django.core.cache import caches
from django.db import connection

from apikeys import services

RATE_LIMIT_CACHE = "ratelimit"


@pytest.mark.django_db
def test_counter_cache_semantics():
    cache = caches[RATE_LIMIT_CACHE]
    assert cache.add("k", 1, 60) and not cache.add("k", 5, 60)
    assert cache.incr("k") == 2 and cache.incr("k", 3) == 5 and cache.get("k") == 5
    with pytest.raises(ValueError):
        cache.incr("missing")
    assert cache.add("short", 7, 1) and cache.get("short") == 7
    time.sleep(1.1)
    assert cache.get("short") is None and cache.add("short", 1, 60) and cache.get("short") == 1  # window ended
    assert cache.delete("k") and cache.get("k", "gone") == "gone"
    with pytest.raises(TypeError):
        cache.set("k", "text")


@pytest.mark.django_db(transaction=True)
def test_concurrent_increments_are_not_lost():
    cache = caches[RATE_LIMIT_CACHE]
    cache.add("shared", 0, 60)
    threads, per_thread = 6, 25

    def hammer():
        try:
            mine = caches[RATE_LIMIT_CACHE]  # a cache (and a connection) per thread, as in a server
            for _ in range(per_thread):
                mine.incr("shared")
        finally:
            connection.close()

    workers = [threading.Thread(target=hammer) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)
    assert cache.get("shared") == threads * per_thread


@pytest.mark.django_db
def test_over_the_limit_is_a_429_with_retry_after(client, settings):
    settings.API_TOKEN = "bootstrap-token-for-tests-0a9f7c3e"
    settings.API_RATE_LIMIT = "3/m"
    _, first = services.create_key(name="busy", scopes=["search"])
    _, second = services.create_key(name="quiet", scopes=["search"])

    def search(key):
        return client.post("/api/search", json.dumps({"query": "x", "k": 0}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key}")

    assert [search(first).status_code for _ in range(3)] == [400, 400, 400]  # admitted, then refused by validation
    limited = search(first)
    assert limited.status_code == 429
    assert limited.json()["error"].startswith("rate limit exceeded: at most 3 requests per minute for busy; retry in")
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert search(second).status_code == 400  # another key has its own window
    settings.API_RATE_LIMIT = ""
    assert search(first).status_code == 400  # empty: no limit


def test_the_rate_limit_cache_passes_django_ratelimits_checks(settings):
    assert not [m for m in checks.run_checks() if m.id and m.id.startswith("django_ratelimit")
                and m.id not in settings.SILENCED_SYSTEM_CHECKS]
    settings.CACHES = {**settings.CACHES, RATE_LIMIT_CACHE: {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "t"}}
    assert "django_ratelimit.E003" in {m.id for m in checks.run_checks()}  # a non-atomic cache is refused

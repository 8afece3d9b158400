"""Searches reuse their threads and PostgreSQL connections, and stop piling up behind a stuck store.

- 500 searches in a row: the number of connections to this test database (pg_stat_activity) stays flat
  after a short warm-up, and no new backend is started for them (CONN_MAX_AGE is honoured).
- A store that stops answering (here the embedder, held on an event: no engine is paused, so the shared
  stack is safe): each search gives up after SEARCH_TIMEOUT; once SEARCH_MAX_ABANDONED of them are still
  stuck, the next one fails at once naming the store; when the store answers again, so do searches.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from core.retry import StoreUnavailable
from ingestion.services import ingest_paths
from retrieval import pipeline
from tests.integration.engines import eventually
from tests.reliability import support

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SEARCHES, WARMUP = 500, 20


@pytest.fixture
def searchable(settings, tmp_path):
    prefix, collection = support.unique("sw"), support.unique("rel_sw_")
    support.small_settings(settings, collection)
    settings.DATABASES["default"]["CONN_MAX_AGE"] = 600  # a run longer than the default 60 s stays flat too
    support.write_corpus(tmp_path / "corpus", 6)
    report = ingest_paths([tmp_path / "corpus"], id_prefix=prefix)
    assert len(report.created) == 6, report.counts()
    yield prefix
    pipeline.shutdown_workers()
    support.drop_everything(prefix, collection)


def _backends() -> set[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        return {row[0] for row in cursor.fetchall()}


def test_500_searches_keep_the_postgresql_connections_flat(searchable):
    pipeline.shutdown_workers()
    before = _backends()
    counts, seen = [], set()
    started = time.monotonic()
    for number in range(SEARCHES):
        result = pipeline.search("graph search storage", k=3)  # vector + keyword (two pools), logged
        assert result.hits and result.query_id
        if number >= WARMUP:
            backends = _backends()
            counts.append(len(backends))
            seen |= backends
        elif number == WARMUP - 1:
            warm = _backends()
    took = time.monotonic() - started
    new = seen - warm
    print(f"\n{SEARCHES} searches in {took:.1f}s: connections before {len(before)}, after warm-up {len(warm)}, "
          f"min {min(counts)} max {max(counts)}, backends started after warm-up: {len(new)}")
    assert max(counts) - min(counts) <= 2, (min(counts), max(counts))
    assert len(new) <= 2, f"{len(new)} new PostgreSQL backends during {SEARCHES - WARMUP} searches"
    assert max(counts) <= len(before) + 2 * 2  # one search at a time: one worker per pool


def test_a_stuck_store_caps_the_abandoned_searches_then_fails_fast_and_recovers(searchable, settings, monkeypatch):
    settings.SEARCH_TIMEOUT, settings.SEARCH_WORKERS, settings.SEARCH_MAX_ABANDONED = 0.5, 3, 2
    assert pipeline.search("graph search storage", k=3).hits
    release = threading.Event()
    embed = pipeline._embed
    monkeypatch.setattr(pipeline, "_embed", lambda text: (release.wait(60), embed(text))[1])
    try:
        for _ in range(2):
            started = time.monotonic()
            with pytest.raises(StoreUnavailable, match="Embedder") as error:
                pipeline.search("graph search storage", k=3)
            assert time.monotonic() - started < 0.5 + 0.5, "waited longer than SEARCH_TIMEOUT"
            assert "no answer within 0.5s" in str(error.value)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable, match="Embedder.*SEARCH_MAX_ABANDONED=2"):
            pipeline.search("graph search storage", k=3)
        assert time.monotonic() - started < 0.1, "a search was started although the cap was reached"
        assert pipeline.STUCK.count() == 2
    finally:
        release.set()
    assert eventually(lambda: pipeline.STUCK.count() == 0, timeout=10, interval=0.05)
    assert pipeline.search("graph search storage", k=3).hits


def test_warm_workers_skip_the_health_check_round_trip_but_replace_a_terminated_connection(searchable, monkeypatch):
    """Before each task a worker checks its idle connection without a `SELECT 1` (a quiet socket is alive); a
    connection the server terminated in between is noticed (readable socket), checked, replaced: no error."""
    from django.db.backends.postgresql.base import DatabaseWrapper

    checks = []
    is_usable = DatabaseWrapper.is_usable
    monkeypatch.setattr(DatabaseWrapper, "is_usable", lambda self: (checks.append(self.alias), is_usable(self))[1])
    for _ in range(3):  # warm: both pools have a thread with a connection
        assert pipeline.search("graph search storage", k=3).hits
    checks.clear()
    for _ in range(20):
        assert pipeline.search("graph search storage", k=3).hits
    assert checks == [], f"{len(checks)} health-check round trips in 20 warm searches"

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        terminated = _backends() - {cursor.fetchone()[0]}  # the workers' connections (and no one else's)
        for pid in terminated:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    assert terminated, "no worker connection to terminate"
    assert eventually(lambda: not terminated & _backends(), timeout=5, interval=0.05)
    for _ in range(3):
        result = pipeline.search("graph search storage", k=3)
        assert result.hits and result.query_id
    assert checks, "the terminated connections were not checked"

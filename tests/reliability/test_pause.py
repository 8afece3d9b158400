"""Each engine SIGSTOPped (whole process tree) during a search and during /health/: the caller gets a clear
error naming the store within the configured bound, never a hang; after SIGCONT the same process answers
again with no restart and no client reset.
"""

from __future__ import annotations

import json
import time

import pytest

from core.retry import StoreUnavailable
from retrieval import pipeline
from ingestion.services import ingest_paths
from tests.integration.engines import eventually
from tests.reliability import support

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SEARCH_TIMEOUT = 4.0
HEALTH_TIMEOUT = 2.0
MARGIN = 2.0  # thread start-up and response rendering; the bound itself is what is configured
NAMES = {"postgres": "PostgreSQL", "milvus": "Milvus", "neo4j": "Neo4j"}


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("pause") / "corpus"
    support.write_corpus(root, 6)
    return root


@pytest.fixture
def searchable(settings, corpus_dir):
    prefix, collection = support.unique("pause"), support.unique("rel_pause_")
    support.small_settings(settings, collection)
    settings.SEARCH_TIMEOUT = SEARCH_TIMEOUT
    settings.HEALTH_CHECK_TIMEOUT = HEALTH_TIMEOUT
    report = ingest_paths([corpus_dir], id_prefix=prefix)
    assert len(report.created) == 6, report.counts()
    settings.MILVUS_TIMEOUT = 2.0  # collection created and loaded: from here on every call is short
    yield prefix
    support.drop_everything(prefix, collection)


def _timed(func):
    started = time.monotonic()
    try:
        return func(), time.monotonic() - started
    except Exception as error:
        return error, time.monotonic() - started


# Every leg, the graph one included (the default weights leave it out, and then Neo4j is never asked).
WEIGHTS = {"vector": 1.0, "graph": 1.0, "keyword": 1.0}


def _search():
    return pipeline.search("graph search storage", k=5, hops=1, weights=WEIGHTS)


@pytest.mark.parametrize("store", ["postgres", "milvus", "neo4j"])
def test_paused_engine_fails_search_and_health_within_the_bound_then_recovers(store, searchable, client):
    assert _search().hits  # warm: connections established, so the pause hits open sockets
    with support.frozen(store):
        error, took = _timed(_search)
        assert isinstance(error, StoreUnavailable), repr(error)
        assert NAMES[store] in str(error), str(error)
        assert took < SEARCH_TIMEOUT + MARGIN, f"search took {took:.1f}s with {store} paused"

        response, api_took = _timed(lambda: client.post("/api/search", json.dumps({"query": "graph search", "weights": WEIGHTS}),
                                                        content_type="application/json"))
        assert response.status_code == 503, response.content
        assert NAMES[store] in response.json()["error"]
        assert api_took < SEARCH_TIMEOUT + MARGIN

        health, health_took = _timed(lambda: client.get("/health/", HTTP_ACCEPT="application/json"))
        assert health.status_code == 503 and store in health.json()["failing"], health.content
        assert health_took < HEALTH_TIMEOUT + MARGIN, f"/health/ took {health_took:.1f}s"
        resumed = time.monotonic()
    recovered = eventually(lambda: not isinstance(_timed(_search)[0], Exception), timeout=60, interval=0.5)
    search_back = time.monotonic() - resumed
    assert recovered, f"search did not recover after SIGCONT of {store}: {_timed(_search)[0]!r}"
    assert eventually(lambda: client.get("/health/", HTTP_ACCEPT="application/json").status_code == 200,
                      timeout=60, interval=0.5)
    support.TIMINGS[f"pause {store}: search error after"] = took
    support.TIMINGS[f"pause {store}: /health/ 503 after"] = health_took
    support.TIMINGS[f"pause {store}: search answers again after SIGCONT"] = search_back
    print(f"\npause {store}: search error in {took:.2f}s ({error}); API 503 in {api_took:.2f}s; "
          f"health 503 in {health_took:.2f}s; search back {search_back:.2f}s after SIGCONT")

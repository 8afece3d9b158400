"""/health/, /health/live/ and `manage.py health_check` against the real engines, up, paused and stopped."""

from __future__ import annotations

import io
import time

import pytest
from django.core.management import call_command

from tests.integration.engines import eventually, paused, stopped

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TIMEOUT = 2.0
MARGIN = 6.0  # generous: this proves "no hang", it is not a speed goal (see bench/ for latency)


@pytest.fixture
def ready_stores(settings, milvus_lite_uri):
    """All three stores initialised; Milvus is the real standalone server."""
    from tests.fixtures import MILVUS_SERVER_URI
    from vectorstore import client

    settings.HEALTH_CHECK_TIMEOUT = TIMEOUT
    settings.MILVUS_URI = MILVUS_SERVER_URI
    settings.MILVUS_COLLECTION = "health_test_chunks"
    settings.NEO4J_TIMEOUT = TIMEOUT
    client.connection().close()
    call_command("init_stores", stdout=io.StringIO())
    yield
    client.connection().close()


def _health(client):
    return client.get("/health/", HTTP_ACCEPT="application/json")


def test_all_stores_working(client, ready_stores):
    response = _health(client)
    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "pass"
    assert set(body["stores"]) == {"postgres", "milvus", "neo4j"}
    for state in body["stores"].values():
        assert state["status"] == "working" and state["latency_ms"] >= 0


def test_text_and_html_formats(client, ready_stores):
    text = client.get("/health/", HTTP_ACCEPT="text/plain")
    assert text.status_code == 200 and "milvus: OK" in text.content.decode()
    html = client.get("/health/", HTTP_ACCEPT="text/html")
    assert html.status_code == 200 and b"neo4j" in html.content


def test_missing_collection_is_reported(client, ready_stores, settings):
    settings.MILVUS_COLLECTION = "never_created_here"
    body = _health(client).json()
    assert body["failing"] == ["milvus"]
    assert "does not exist" in body["stores"]["milvus"]["error"]


@pytest.mark.slow
@pytest.mark.parametrize("store", ["postgres", "milvus", "neo4j"])
def test_paused_store_turns_503_within_the_timeout_and_recovers(client, ready_stores, store):
    with paused(store):
        start = time.monotonic()
        response = _health(client)
        elapsed = time.monotonic() - start
        body = response.json()
        assert response.status_code == 503, body
        assert body["failing"] == [store], body
        assert elapsed < TIMEOUT + MARGIN, f"/health/ took {elapsed:.1f}s with {store} paused"
        # The others still report, and a second request while the store is still stuck answers too.
        assert all(body["stores"][other]["status"] == "working" for other in body["stores"] if other != store)
        again = _health(client)
        assert again.status_code == 503 and again.json()["failing"] == [store]
    assert eventually(lambda: _health(client).status_code == 200, timeout=90), "health did not recover"


@pytest.mark.slow
@pytest.mark.parametrize("store", ["postgres", "milvus", "neo4j"])
def test_stopped_store_turns_503_naming_it_and_recovers(client, ready_stores, store):
    from graphstore.client import connection as graph_connection
    from vectorstore.client import connection as milvus_connection

    with stopped(store):
        start = time.monotonic()
        response = _health(client)
        body = response.json()
        assert response.status_code == 503 and body["failing"] == [store], body
        assert time.monotonic() - start < TIMEOUT + MARGIN
        assert "password" not in body["stores"][store]["error"].lower()
    milvus_connection().close(), graph_connection().close()  # not needed for recovery; keeps later tests' clients fresh
    assert eventually(lambda: _health(client).status_code == 200, timeout=120), _health(client).json()


def test_health_check_command_exit_codes(ready_stores, settings, capsys):
    call_command("health_check")
    out = capsys.readouterr().out
    assert "postgres" in out and "milvus" in out and "neo4j" in out and "FAIL" not in out
    settings.MILVUS_COLLECTION = "never_created_here"
    with pytest.raises(SystemExit) as exited:
        call_command("health_check", "--json")
    assert exited.value.code == 1
    assert '"failing": [\n    "milvus"\n  ]' in capsys.readouterr().out

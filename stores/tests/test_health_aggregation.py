"""Aggregation of the readiness checks (fake probes: this is the view's logic, not a store's)."""

from __future__ import annotations

import dataclasses
import threading

import pytest
from django.test import override_settings
from django.urls import path

from core.health import StoreCheck
from stores.health import ReadinessView

release = threading.Event()


@dataclasses.dataclass(repr=False)
class Passing(StoreCheck):
    store = "alpha"

    def probe(self):
        return None


@dataclasses.dataclass(repr=False)
class Failing(StoreCheck):
    store = "beta"

    def probe(self):
        raise ConnectionRefusedError("[Errno 111] refused bolt://u:hunter2@host")


@dataclasses.dataclass(repr=False)
class Hanging(StoreCheck):
    store = "gamma"

    def probe(self):
        release.wait(30)


def _view(*checks):
    return ReadinessView.as_view(checks=checks)


urlpatterns = [
    path("all-pass", _view(Passing)),
    path("one-fails", _view(Passing, Failing)),
    path("one-hangs", _view(Passing, Hanging)),
]


@pytest.fixture(autouse=True)
def _short_timeout(settings):
    settings.HEALTH_CHECK_TIMEOUT = 0.5
    release.clear()
    yield
    release.set()


@override_settings(ROOT_URLCONF=__name__)
def test_all_pass(client):
    response = client.get("/all-pass", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "pass" and response.json()["failing"] == []


@override_settings(ROOT_URLCONF=__name__)
def test_one_fails_names_it_without_the_secret(client):
    response = client.get("/one-fails", HTTP_ACCEPT="application/json")
    body = response.json()
    assert response.status_code == 503
    assert body["failing"] == ["beta"] and body["stores"]["alpha"]["status"] == "working"
    assert "ConnectionRefusedError" in body["stores"]["beta"]["error"]
    assert "hunter2" not in response.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_one_times_out_then_fails_fast_while_stuck_then_recovers(client):
    first = client.get("/one-hangs", HTTP_ACCEPT="application/json").json()
    assert first["failing"] == ["gamma"] and "did not answer within 0.5s" in first["stores"]["gamma"]["error"]
    second = client.get("/one-hangs", HTTP_ACCEPT="application/json").json()
    assert "previous probe still waiting" in second["stores"]["gamma"]["error"]
    release.set()
    import time

    time.sleep(0.2)
    third = client.get("/one-hangs", HTTP_ACCEPT="application/json")
    assert third.status_code == 200


@override_settings(ROOT_URLCONF=__name__)
def test_text_format_lists_each_store(client):
    response = client.get("/one-fails", HTTP_ACCEPT="text/plain")
    assert response.status_code == 503
    assert "alpha: OK" in response.content.decode() and "beta: Unavailable" in response.content.decode()


def test_liveness_touches_no_store(client, settings):
    # No django_db mark: pytest-django makes any database access fail this test.
    settings.MILVUS_URI = "http://127.0.0.1:1"
    settings.NEO4J_URI = "bolt://127.0.0.1:1"
    response = client.get("/health/live/")
    assert response.status_code == 200 and response.json() == {"status": "alive"}

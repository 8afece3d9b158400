"""/metrics: who may read it, and what a search, an ingest and a request leave in it (real engines)."""

from __future__ import annotations

import ipaddress
import re
import uuid

import pytest
from django.test import RequestFactory

from observability.access import allowed
from tests.fixtures import MILVUS_SERVER_URI, drop_test_collection

LOOPBACK = [ipaddress.ip_network("127.0.0.1/32"), ipaddress.ip_network("::1/128")]


@pytest.fixture
def metrics_settings(settings):
    settings.METRICS_ALLOWED_IPS = LOOPBACK
    settings.METRICS_TOKEN = ""
    return settings


@pytest.mark.parametrize(("remote", "headers", "token", "expected"), [
    ("127.0.0.1", {}, "", True),
    ("::1", {}, "", True),
    ("10.1.2.3", {}, "", False),
    ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}, "", False),  # through a proxy on this host
    ("127.0.0.1", {"HTTP_FORWARDED": "for=203.0.113.9"}, "", False),
    ("10.1.2.3", {"HTTP_AUTHORIZATION": "Bearer s3cret-metrics-token"}, "s3cret-metrics-token", True),
    ("127.0.0.1", {"HTTP_X_FORWARDED_FOR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer s3cret-metrics-token"},
     "s3cret-metrics-token", True),
    ("10.1.2.3", {"HTTP_AUTHORIZATION": "Bearer wrong"}, "s3cret-metrics-token", False),
    ("10.1.2.3", {"HTTP_AUTHORIZATION": "Bearer "}, "", False),  # no token configured: no token access
])
def test_access_rules(metrics_settings, remote, headers, token, expected):
    metrics_settings.METRICS_TOKEN = token
    request = RequestFactory().get("/metrics", REMOTE_ADDR=remote, **headers)
    assert allowed(request) is expected


def test_allowed_networks_come_from_the_setting(metrics_settings):
    metrics_settings.METRICS_ALLOWED_IPS = [ipaddress.ip_network("10.0.0.0/8")]
    assert allowed(RequestFactory().get("/metrics", REMOTE_ADDR="10.9.9.9"))
    assert not allowed(RequestFactory().get("/metrics", REMOTE_ADDR="127.0.0.1"))


def test_a_bad_network_is_a_one_line_config_error():
    from config.env import ConfigError, EnvReader
    from config.env_values import ip_networks

    with pytest.raises(ConfigError, match="METRICS_ALLOWED_IPS: expected IP addresses or networks"):
        ip_networks(EnvReader({"METRICS_ALLOWED_IPS": "127.0.0.1,not-an-ip"}), "METRICS_ALLOWED_IPS", [])


@pytest.mark.django_db
def test_denied_clients_get_403_and_the_request_id_is_echoed(client, metrics_settings):
    response = client.get("/metrics", REMOTE_ADDR="192.0.2.7", HTTP_X_REQUEST_ID="probe-1")
    assert response.status_code == 403 and b"access denied" in response.content
    assert response["X-Request-ID"] == "probe-1"
    generated = client.get("/health/live/")["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)


def _sample(text: str, name: str, **labels) -> float:
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    match = re.search(rf"^{re.escape(name)}{{{re.escape(wanted)}}} (\S+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@pytest.fixture
def standalone_milvus(settings):
    from vectorstore import client

    settings.MILVUS_URI = MILVUS_SERVER_URI
    settings.MILVUS_COLLECTION = f"test_{uuid.uuid4().hex[:12]}"
    client.connection().close()
    yield
    try:
        drop_test_collection(settings)
    finally:
        from retrieval import pipeline

        pipeline.shutdown_workers()


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_search_an_ingest_and_the_stores_show_in_metrics(client, metrics_settings, standalone_milvus, neo4j_store,
                                                           tmp_path):
    from ingestion.services import ingest_paths
    from stores.services import initialise

    initialise(echo=lambda *_: None)
    before = client.get("/metrics").content.decode()
    (tmp_path / "guide.md").write_text("# Guide\n\nReciprocal rank fusion merges the rankings of the legs.\n")
    report = ingest_paths([tmp_path])
    assert report.counts()["created"] == 1
    response = client.post("/api/search", {"query": "rank fusion"}, content_type="application/json")
    assert response.status_code == 200, response.content
    text = client.get("/metrics").content.decode()

    def grew(name, **labels):
        return _sample(text, name, **labels) - _sample(before, name, **labels)

    assert grew("rag_ingest_documents_total", outcome="created") == 1
    assert grew("rag_ingest_chunks_total", outcome="written") == report.chunks >= 1
    for stage in ("embed", "vector", "keyword", "hydrate", "fusion", "total"):
        assert grew("rag_search_stage_duration_seconds_count", stage=stage) == 1, stage
    assert grew("rag_search_stage_duration_seconds_bucket", le="+Inf", stage="total") == 1
    assert grew("rag_http_request_duration_seconds_count", method="POST", route="/api/search", status="200") == 1
    for store in ("postgres", "milvus", "neo4j"):
        assert _sample(text, "rag_store_up", store=store) == 1.0, store
    assert "rag_drift_documents" in text or "drift" not in __import__("django.conf").conf.settings.INSTALLED_APPS


def test_drift_gauges_come_from_the_drift_apps_latest_report(monkeypatch):
    """The hook: when the drift app is installed, `drift.selectors.latest_counts()` becomes rag_drift_documents."""
    import sys
    import types

    from django.apps import apps
    from prometheus_client import CollectorRegistry, generate_latest

    from observability import collectors

    fake = types.ModuleType("drift.selectors")
    fake.latest_counts = lambda: {"missing_in_milvus": 2, "orphan_in_neo4j": 0}
    monkeypatch.setitem(sys.modules, "drift.selectors", fake)
    monkeypatch.setattr(apps, "is_installed", lambda name: name == "drift" or name in settings_apps())
    registry = CollectorRegistry()
    registry.register(collectors.DriftCollector())
    text = generate_latest(registry).decode()
    assert 'rag_drift_documents{kind="missing_in_milvus"} 2.0' in text
    assert 'rag_drift_documents{kind="orphan_in_neo4j"} 0.0' in text

    fake.latest_counts = lambda: (_ for _ in ()).throw(RuntimeError("no table"))
    assert collectors.drift_counts() is None  # a failing read never breaks the scrape


def settings_apps() -> list[str]:
    from django.conf import settings

    return list(settings.INSTALLED_APPS)


def test_production_refuses_a_weak_metrics_token(tmp_path):
    from config.tests.test_production import manage, production_env

    result = manage(production_env(tmp_path, METRICS_TOKEN="metrics"), "check")
    assert result.returncode != 0 and "METRICS_TOKEN is too short" in result.stderr, result.stderr

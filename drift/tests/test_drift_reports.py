"""Drift reports in PostgreSQL: /health/'s drift entry (warning, never failure), pruning, the admin pages."""

from __future__ import annotations

import datetime

import pytest
from django.test import override_settings
from django.urls import path
from django.utils import timezone

from drift import selectors, services
from drift.models import KINDS, DriftReport
from stores.health import ReadinessView

pytestmark = pytest.mark.django_db(transaction=True)  # the check reads from its own thread's connection

urlpatterns = [path("drift-only", ReadinessView.as_view(checks=("drift.health.DriftCheck",)))]


def _report(total=0, age_seconds=0, error="", **counts) -> DriftReport:
    counts = {kind: counts.get(kind, 0) for kind in KINDS} if not error else {}
    if total and not any(counts.values()):
        counts["orphan_milvus_chunks"] = total
    return DriftReport.objects.create(
        created_at=timezone.now() - datetime.timedelta(seconds=age_seconds), duration_ms=12.5, counts=counts,
        total=sum(counts.values()), error=error,
        examples={kind: [f"{kind}-1"] for kind, count in counts.items() if count})


def _drift(client) -> tuple[int, dict]:
    response = client.get("/drift-only", HTTP_ACCEPT="application/json")
    return response.status_code, response.json()


@pytest.fixture(autouse=True)
def _drift_settings(settings):
    settings.DRIFT_WARN_THRESHOLD, settings.DRIFT_STALE_SECONDS, settings.HEALTH_CHECK_TIMEOUT = 0, 600, 5


@override_settings(ROOT_URLCONF=__name__)
def test_no_report_yet_is_not_a_warning(client):
    status, body = _drift(client)
    assert status == 200 and body["status"] == "pass" and body["checks"]["drift"]["latest_report"] is None


@override_settings(ROOT_URLCONF=__name__)
def test_drift_above_the_threshold_warns_with_http_200(client, settings):
    _report(missing_in_milvus=2, orphan_neo4j_documents=1, age_seconds=30)
    status, body = _drift(client)
    drift = body["checks"]["drift"]
    assert status == 200 and body["status"] == "warn" and body["warnings"] == ["drift"] and body["failing"] == []
    assert drift["total"] == 3 and drift["by_store"] == {"postgres": 0, "milvus": 2, "neo4j": 1}
    assert 25 <= drift["age_seconds"] <= 120 and "missing_in_milvus 2, orphan_neo4j_documents 1" in drift["warning"]
    settings.DRIFT_WARN_THRESHOLD = 3
    assert _drift(client)[1]["status"] == "pass"
    text = client.get("/drift-only", HTTP_ACCEPT="text/plain")
    assert text.status_code == 200 and "drift: OK" in text.content.decode()


@override_settings(ROOT_URLCONF=__name__)
def test_an_old_report_is_itself_a_warning(client):
    _report(age_seconds=3600)
    status, body = _drift(client)
    assert status == 200 and body["status"] == "warn"
    assert "3600s old" in body["checks"]["drift"]["warning"] and "is the periodic drift check running" in \
        body["checks"]["drift"]["warning"]


@override_settings(ROOT_URLCONF=__name__)
def test_a_failed_check_warns_with_its_line(client):
    _report(error="Milvus: StoreUnavailable: Milvus is unreachable")
    status, body = _drift(client)
    assert status == 200 and "the latest drift check failed: Milvus" in body["checks"]["drift"]["warning"]


def test_prune_keeps_the_newest(settings):
    reports = [_report(age_seconds=100 - n) for n in range(6)]
    assert services.prune(4) == 2
    assert [r.id for r in selectors.recent_reports()] == [r.id for r in reversed(reports)][:4]
    assert selectors.latest_report().id == reports[-1].id


def test_latest_counts_for_metrics():
    assert selectors.latest_counts() == {}
    _report(missing_in_neo4j=3)
    counts = selectors.latest_counts()
    assert counts["missing_in_neo4j"] == 3 and counts["orphan_milvus_chunks"] == 0
    assert len(counts) == len(KINDS)


def test_summary_lines():
    assert services.summary(_report()) == "no drift"
    assert services.summary(_report(incomplete=2)) == "2 drift (incomplete 2)"
    assert services.summary(_report(error="Neo4j: down")) == "check failed: Neo4j: down"


def test_admin_lists_reports_and_shows_examples(admin_client):
    report = _report(orphan_milvus_chunks=4)
    listing = admin_client.get("/admin/drift/driftreport/")
    assert listing.status_code == 200 and b"Milvus" in listing.content
    detail = admin_client.get(f"/admin/drift/driftreport/{report.id}/change/")
    assert detail.status_code == 200 and b"orphan_milvus_chunks-1" in detail.content
    assert b"repair_now" in listing.content  # the explicit repair action is offered


def test_admin_repair_action_enqueues_a_reconcile_job(admin_client):
    from jobs.selectors import get_job

    report = _report(missing_in_milvus=1)
    response = admin_client.post("/admin/drift/driftreport/", {"action": "repair_now", "_selected_action": [report.id]},
                                 follow=True)
    shown = [str(message) for message in response.context["messages"]]
    assert response.status_code == 200 and len(shown) == 1 and shown[0].startswith("reconcile job"), shown
    assert get_job(int(shown[0].split()[2])).task == "reconcile"

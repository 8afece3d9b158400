"""Admin and API access: anonymous users reach neither the admin nor a feedback change; the API demands the
configured bearer token, which production settings make mandatory (auth is off only in local mode)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rag_data import services
from rag_data.models import Feedback
from tests.reliability.test_startup import REPO

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def feedback():
    query = services.record_query(text="q", results=[], latency_ms=1.0)
    return services.record_feedback(query.id, 1, comment="original")


@pytest.mark.parametrize("path", ["/admin/", "/admin/rag_data/feedback/", "/admin/rag_data/query/",
                                  "/admin/rag_data/document/", "/admin/auth/user/"])
def test_anonymous_users_are_sent_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response.url.startswith("/admin/login/"), (path, response.status_code)


def test_anonymous_and_non_staff_users_cannot_change_feedback(client, feedback, django_user_model):
    change = f"/admin/rag_data/feedback/{feedback.pk}/change/"
    action = {"action": "mark_reviewed", "_selected_action": [str(feedback.pk)]}
    attempts = [
        client.post(change, {"comment": "changed", "rating": -1}),
        client.post("/admin/rag_data/feedback/", action),
        client.post(f"/admin/rag_data/feedback/{feedback.pk}/delete/", {"post": "yes"}),
    ]
    plain = django_user_model.objects.create_user("visitor", password="pw-not-secret-1")
    client.force_login(plain)  # logged in, not staff: still the login page
    attempts += [client.post(change, {"comment": "changed"}), client.post("/admin/rag_data/feedback/", action)]
    staff = django_user_model.objects.create_user("staff", password="pw-not-secret-2", is_staff=True)
    client.force_login(staff)  # staff without permissions: 403
    forbidden = [client.post(change, {"comment": "changed"}), client.post("/admin/rag_data/feedback/", action)]
    assert all(r.status_code == 302 and "/admin/login/" in r.url for r in attempts), [r.status_code for r in attempts]
    assert all(r.status_code == 403 for r in forbidden), [r.status_code for r in forbidden]
    feedback.refresh_from_db()
    assert feedback.comment == "original" and feedback.rating == 1
    assert Feedback.objects.filter(pk=feedback.pk).exists()
    assert feedback.review_state == "new" and feedback.reviewed_at is None


def test_api_rejects_requests_without_the_configured_token(client, settings, feedback):
    settings.API_TOKEN = "configured-token-value"
    body = json.dumps({"query": "anything"})
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": "Basic abc"},
                    {"HTTP_AUTHORIZATION": "configured-token-value"}):
        for path, payload in (("/api/search", body),
                              ("/api/feedback", json.dumps({"query_id": str(feedback.query_id), "rating": -1}))):
            response = client.post(path, payload, content_type="application/json", **headers)
            assert response.status_code == 401, (path, headers, response.content)
            assert "WWW-Authenticate" in response.headers
    assert Feedback.objects.count() == 1


def test_production_settings_refuse_to_start_without_an_api_token():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "API_TOKEN"))}
    env.update(DJANGO_ENV="production", DJANGO_SECRET_KEY="x" * 40, NEO4J_PASSWORD="p", DJANGO_ALLOWED_HOSTS="h")
    result = subprocess.run([sys.executable, "-c", "import config.settings"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "API_TOKEN" in result.stderr, result.stderr[-1000:]

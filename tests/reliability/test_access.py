"""Admin and API access: anonymous users reach neither the admin nor a feedback change; the API demands a key:
the configured bootstrap API_TOKEN in local mode (auth is off there only when it is empty), per-client keys only in
production, whose settings refuse to start with an API_TOKEN and need none."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys

import pytest

from apikeys import services as key_services
from rag_data import services
from rag_data.models import Feedback
from tests.reliability.test_startup import REPO

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def feedback():
    query = services.record_query(text="q", results=[], latency_ms=1.0)
    return services.record_feedback(query_id=query.id, rating=1, comment="original")


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


def test_production_takes_per_client_keys_only(client, settings, feedback):
    settings.PRODUCTION, settings.API_TOKEN, settings.API_RATE_LIMIT = True, "", ""

    def send(**headers):
        return client.post("/api/feedback", json.dumps({"query_id": str(feedback.query_id), "rating": -1}),
                           content_type="application/json", **headers)

    assert send().status_code == 401, "no key: no anonymous access in production"
    settings.API_TOKEN = "bootstrap-token-that-slipped-through-0a9f"  # the settings refuse it; auth ignores it too
    for response in (send(), send(HTTP_AUTHORIZATION=f"Bearer {settings.API_TOKEN}")):
        assert response.status_code == 401 and "WWW-Authenticate" in response.headers, response.content
    assert Feedback.objects.count() == 1
    _, key = key_services.create_key(name="frontend", scopes="feedback")
    response = send(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 201, response.content
    assert Feedback.objects.get(pk=response.json()["feedback_id"]).api_key.name == "frontend"


def production_start(**secrets_env) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "API_TOKEN", "DATABASE_", "NEO4J_"))}
    env.update(DJANGO_ENV="production", DJANGO_SECRET_KEY=secrets.token_hex(32), NEO4J_PASSWORD=secrets.token_hex(16),
               DATABASE_URL=f"postgres://rag:{secrets.token_hex(16)}@postgres:5432/rag", DJANGO_ALLOWED_HOSTS="h",
               **secrets_env)
    script = "import config.settings as s; print(repr(s.API_TOKEN))"
    return subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=60)


def test_production_settings_start_without_an_api_token_and_refuse_one():
    started = production_start()
    assert started.returncode == 0 and started.stdout.strip() == "''", started.stderr[-1000:]
    token = secrets.token_hex(32)
    refused = production_start(API_TOKEN=token)
    assert refused.returncode != 0 and token not in refused.stdout + refused.stderr
    assert "API_TOKEN is a bootstrap key for local use only" in refused.stderr, refused.stderr[-1000:]
    assert "manage.py api_key create NAME --scopes" in refused.stderr

"""Per-client API keys: made by the command and the admin (shown once, stored hashed), scoped, expiring,
revoked, noted when used, and recorded on the Query and Feedback they make."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apikeys import selectors, services
from apikeys.models import ApiKey
from rag_data.models import Feedback

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _auth_on(settings):
    settings.API_TOKEN = "bootstrap-token-for-tests-0a9f7c3e"
    settings.API_RATE_LIMIT = ""


def command(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("api_key", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def feedback(client, key, query_id, **extra):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"} if key else {}
    return client.post("/api/feedback", json.dumps({"query_id": str(query_id), "rating": 1}),
                       content_type="application/json", **headers, **extra)


def test_the_command_prints_the_key_once_and_stores_only_its_hash():
    out, err = command("create", "chat-frontend", "--scopes", "search,feedback", "--expires", "30")
    key = out.strip()
    row = ApiKey.objects.get(name="chat-frontend")
    assert key.startswith(f"rag_{row.prefix}_") and len(key) > 50
    assert row.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in repr(row) and key not in str(row) and key not in err
    assert row.scopes == ["search", "feedback"] and row.expires_at > timezone.now() + timedelta(days=29)
    assert "shown once" in err and "prefix" in err
    listing, _ = command("list")
    assert "chat-frontend" in listing and row.prefix in listing and "active" in listing and key not in listing
    assert selectors.key_for_token(key) == row


@pytest.mark.parametrize("args, message", [
    (["create", "bad name!"], "name: 1-100 letters"),
    (["create", "x", "--scopes", "search,admin"], "scopes: expected one or more of search, feedback, documents"),
    (["create", "x", "--scopes", ""], "scopes: expected one or more"),
    (["create", "x", "--expires", "0"], "expires: a whole number of days"),
    (["revoke", "nobody"], "no API key named or prefixed 'nobody'"),
])
def test_command_errors_are_one_line(args, message):
    with pytest.raises(CommandError, match=message):
        command(*args)
    assert not ApiKey.objects.exists()


def test_a_name_is_taken_once():
    command("create", "twice")
    with pytest.raises(CommandError, match="exists already"):
        command("create", "twice")


def test_scopes_missing_invalid_revoked_and_expired_keys(client, make_query):
    query = make_query()
    _, search_only = services.create_key(name="searcher", scopes=["search"])
    row, full = services.create_key(name="app", scopes="search,feedback")
    assert feedback(client, full, query.id).status_code == 201

    forbidden = feedback(client, search_only, query.id)
    assert forbidden.status_code == 403
    assert forbidden.json() == {"error": "the key searcher lacks the scope feedback (it has: search)"}
    assert 'error="insufficient_scope"' in forbidden["WWW-Authenticate"]

    for token, message in ((None, "missing bearer token"), ("rag_0123abcd_" + "x" * 43, "invalid bearer token"),
                           (full[:-1] + ("A" if full[-1] != "A" else "B"), "invalid bearer token")):
        response = feedback(client, token, query.id)
        assert response.status_code == 401 and response.json()["error"].startswith(message)

    out, _ = command("revoke", row.prefix)
    assert "revoked app" in out
    assert feedback(client, full, query.id).status_code == 401
    ApiKey.objects.filter(name="searcher").update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client.post("/api/search", "{}", content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {search_only}")
    assert response.status_code == 401 and "revoked or expired" in response.json()["error"]
    assert Feedback.objects.count() == 1


def test_the_key_is_recorded_on_feedback_and_its_use_noted_once_a_minute(client, make_query,
                                                                          django_assert_max_num_queries):
    query = make_query()
    row, key = services.create_key(name="reviewer-app", scopes=["feedback"])
    assert row.last_used_at is None
    assert feedback(client, key, query.id).status_code == 201
    row.refresh_from_db()
    first = row.last_used_at
    assert first is not None and Feedback.objects.get().api_key == row
    assert feedback(client, key, query.id).status_code == 201
    row.refresh_from_db()
    assert row.last_used_at == first  # not moved within the minute: no UPDATE per request
    ApiKey.objects.filter(pk=row.pk).update(last_used_at=first - timedelta(minutes=2))
    assert feedback(client, key, query.id).status_code == 201
    row.refresh_from_db()
    assert row.last_used_at > first
    # the bootstrap key (API_TOKEN) records no key
    assert feedback(client, "bootstrap-token-for-tests-0a9f7c3e", query.id).status_code == 201
    assert Feedback.objects.filter(api_key__isnull=True).count() == 1
    row.delete()  # on_delete SET_NULL: the feedback stays
    assert Feedback.objects.count() == 4 and not Feedback.objects.filter(api_key__isnull=False).exists()


def test_auth_off_in_local_mode_still_checks_a_key_that_is_sent(client, settings, make_query):
    settings.API_TOKEN = ""
    query = make_query()
    row, key = services.create_key(name="local", scopes=["feedback"])
    assert feedback(client, None, query.id).status_code == 201  # no key: anonymous, as before keys existed
    assert feedback(client, key, query.id).status_code == 201
    assert feedback(client, "not-a-key", query.id).status_code == 401
    assert list(Feedback.objects.order_by("id").values_list("api_key", flat=True)) == [None, row.pk]


def test_the_admin_shows_a_new_key_once_and_revokes(admin_client, client, make_query):
    response = admin_client.post("/admin/apikeys/apikey/add/", {"name": "from-admin", "scopes": ["feedback"],
                                                                "expires_in_days": ""})
    assert response.status_code == 200, response.content[:2000]
    html = response.content.decode()
    row = ApiKey.objects.get(name="from-admin")
    key = html.split('id="api-key" value="')[1].split('"')[0]
    assert key.startswith(f"rag_{row.prefix}_") and row.secret_hash == hashlib.sha256(key.encode()).hexdigest()
    assert "no-store" in response["Cache-Control"] and "shown only on this page" in html
    changelist = admin_client.get("/admin/apikeys/apikey/").content.decode()
    detail = admin_client.get(f"/admin/apikeys/apikey/{row.pk}/change/").content.decode()
    assert "from-admin" in changelist and key not in changelist and key not in detail
    assert row.secret_hash not in changelist and row.secret_hash not in detail

    query = make_query()
    assert feedback(client, key, query.id).status_code == 201
    assert "from-admin" in admin_client.get("/admin/rag_data/feedback/").content.decode()
    admin_client.post("/admin/apikeys/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    row.refresh_from_db()
    assert row.revoked_at is not None and row.state == "revoked"
    assert feedback(client, key, query.id).status_code == 401


def test_the_admin_refuses_a_key_without_scopes(admin_client):
    response = admin_client.post("/admin/apikeys/apikey/add/", {"name": "none", "expires_in_days": ""})
    assert response.status_code == 200 and not ApiKey.objects.exists()
    assert "This field is required" in response.content.decode()


def test_a_key_in_a_log_line_or_an_error_is_masked(client, caplog):
    from core.redact import redact

    _, key = services.create_key(name="leaky", scopes=["search"])
    assert redact(f"client sent {key} by mistake") == f"client sent {key[:13]}*** by mistake"
    response = client.post("/api/search", json.dumps({"query": "x", key: 1}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == 400 and key not in response.content.decode()
    assert key not in caplog.text

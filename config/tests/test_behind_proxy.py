"""The production settings behind a TLS-terminating proxy, on real requests: SSL redirect (probes exempt),
HSTS and secure cookies, the admin login POST passing CSRF, and static files collected with hashed names and
served compressed by WhiteNoise. The settings are the ones a production start computes (in a subprocess)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from config.tests.test_production import ORIGIN, REPO, manage, production_env

APPLIED = ("SECURE_PROXY_SSL_HEADER", "CSRF_TRUSTED_ORIGINS", "SECURE_SSL_REDIRECT", "SECURE_REDIRECT_EXEMPT",
           "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE",
           "MIDDLEWARE", "STORAGES", "STATIC_ROOT", "ALLOWED_HOSTS", "DEBUG")
HOST = "rag.example.com"


@pytest.fixture(scope="module")
def production(tmp_path_factory):
    """collectstatic as the image runs it, then the production values of the settings above."""
    tmp_path = tmp_path_factory.mktemp("production")
    environment = production_env(tmp_path)
    collected = manage(environment, "collectstatic", "--noinput")
    assert collected.returncode == 0, collected.stderr
    script = ("import django, json; django.setup(); from django.conf import settings; "
              f"print(json.dumps({{name: getattr(settings, name) for name in {APPLIED!r}}}, default=str))")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=REPO, env=environment,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def behind_proxy(settings, production):
    for name, value in production.items():
        setattr(settings, name, tuple(value) if name == "SECURE_PROXY_SSL_HEADER" else value)
    return Client(enforce_csrf_checks=True, HTTP_HOST=HOST)


def test_static_files_are_collected_with_hashed_and_compressed_names(production):
    root = REPO / production["STATIC_ROOT"]
    manifest = json.loads((root / "staticfiles.json").read_text())["paths"]
    hashed = manifest["admin/css/base.css"]
    assert re.fullmatch(r"admin/css/base\.[0-9a-f]{12}\.css", hashed)
    assert (root / hashed).is_file() and (root / f"{hashed}.gz").is_file()


def test_plain_http_is_redirected_except_the_probes(behind_proxy):
    response = behind_proxy.get("/admin/login/")
    assert response.status_code == 301 and response["Location"] == f"https://{HOST}/admin/login/"
    live = behind_proxy.get("/health/live/")  # a container or load balancer probe: plain HTTP, no proxy header
    assert live.status_code == 200


@pytest.mark.integration
@pytest.mark.django_db
def test_admin_login_over_the_proxy_passes_csrf_with_secure_cookies_hsts_and_styled_pages(behind_proxy):
    get_user_model().objects.create_superuser("admin", "admin@example.com", "a-long-admin-password")
    https = {"HTTP_X_FORWARDED_PROTO": "https"}
    page = behind_proxy.get("/admin/login/", **https)
    assert page.status_code == 200
    assert page["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert page.cookies["csrftoken"]["secure"]
    stylesheet = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page.content.decode()).group(1)
    css = behind_proxy.get(stylesheet, HTTP_ACCEPT_ENCODING="gzip", **https)
    assert css.status_code == 200 and css["Content-Encoding"] == "gzip"
    assert "immutable" in css["Cache-Control"]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode()).group(1)
    form = {"username": "admin", "password": "a-long-admin-password", "csrfmiddlewaretoken": token,
            "next": "/admin/"}
    forged = behind_proxy.post("/admin/login/", form, HTTP_ORIGIN="https://evil.example", **https)
    assert forged.status_code == 403
    login = behind_proxy.post("/admin/login/", form, HTTP_ORIGIN=ORIGIN, **https)
    assert login.status_code == 302 and login["Location"] == "/admin/", login.content[:500]
    assert login.cookies["sessionid"]["secure"] and login.cookies["sessionid"]["httponly"]

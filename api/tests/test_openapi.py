"""The OpenAPI document lists every endpoint and validates; the docs page and every asset it loads come from
this server (no CDN, no outside URL: it works with no internet)."""

from __future__ import annotations

import re
import urllib.request
from html.parser import HTMLParser

import pytest
from openapi_spec_validator import validate

ENDPOINTS = {
    ("/api/search", "post"),
    ("/api/feedback", "post"),
    ("/api/documents", "post"),
    ("/api/documents", "get"),
    ("/api/documents/{document_id}", "get"),
    ("/api/documents/{document_id}", "delete"),
    ("/api/jobs/{job_id}", "get"),
}


def test_the_openapi_document_validates_and_lists_every_endpoint(client):
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)  # openapi-spec-validator: raises on any schema error
    listed = {(path, method) for path, operations in document["paths"].items() for method in operations}
    assert listed == ENDPOINTS
    schemes = document["components"]["securitySchemes"]
    assert [scheme["scheme"] for scheme in schemes.values()] == ["bearer"]
    for path, method in ENDPOINTS:
        operation = document["paths"][path][method]
        assert operation["security"], (path, method)
        assert {"400", "401", "403", "429", "503"} <= set(operation["responses"]), (path, method)
    upload = document["paths"]["/api/documents"]["post"]["requestBody"]["content"]
    assert set(upload) == {"multipart/form-data", "application/json"}
    search_body = document["paths"]["/api/search"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert search_body["required"] == ["query"] and search_body["additionalProperties"] is False


class _Assets(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        self.urls += [value for name, value in attrs if name in ("src", "href") and value]


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:  # the test's own live server on loopback
        return response.status, response.read()


@pytest.mark.django_db
def test_the_docs_page_loads_only_local_assets(live_server):
    status, page = _get(f"{live_server.url}/api/docs")
    html = page.decode()
    assert status == 200 and "swagger-ui" in html
    assert not re.search(r"(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", html), "the page names an outside URL"
    assert '"validatorUrl": null' in html  # Swagger UI would fetch a validator badge from outside
    parser = _Assets()
    parser.feed(html)
    assert len(parser.urls) >= 4, parser.urls  # css, two icons, two scripts
    for url in parser.urls:
        assert url.startswith("/"), url
        status, body = _get(live_server.url + url)
        assert status == 200 and len(body) > 100, url
    status, document = _get(f"{live_server.url}/api/openapi.json")
    assert status == 200 and b'"openapi"' in document


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/search/", "/api/feedback/", "/api/", "/api/nope", "/api/documents/x/y",
                                  "/api/openapi.json/"])
def test_unknown_api_paths_are_a_json_404(client, path):
    for method in ("get", "post"):
        response = getattr(client, method)(path)
        assert response.status_code == 404, (method, path)
        assert response["Content-Type"] == "application/json"
        assert response.json()["error"].startswith(f"no API endpoint at {path}")
    if path.endswith("/") and path != "/api/":
        assert f"no trailing slash: {path.rstrip('/')}" in response.json()["error"]

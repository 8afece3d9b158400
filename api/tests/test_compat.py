"""The move to django-ninja changed nothing a client sees: the same requests sent to the new endpoints and to the
pre-ninja views (api/tests/legacy_api.py, served under /legacy/ here) get the same status, body and headers.

The only differences are deliberate and listed in CHANGED (one wording style for every message, and a 401 that
names per-client keys rather than API_TOKEN); each is checked to be exactly that.
"""

from __future__ import annotations

import json

import pytest

from rag_data.models import Feedback, Query
from retrieval.tests.corpus import MAIN_RELATIONS, QUERY, main_corpus, seed

pytestmark = pytest.mark.urls("api.tests.compat_urls")

TOKEN = "tok-compat-5b2e9d41c7a8f360"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
HEADERS = ("Allow", "WWW-Authenticate", "Content-Type", "Retry-After")

# (endpoint, method, body, content type, headers)
SEARCH_CASES = {
    "malformed JSON": ("search", "POST", '{"query": "x",', "application/json", AUTH),
    "NaN": ("search", "POST", '{"query": NaN}', "application/json", AUTH),
    "not UTF-8": ("search", "POST", b'{"query": "\xff\xfe"}', "application/json", AUTH),
    "too deep": ("search", "POST", '{"query": "x", "filters": ' + "[" * 50_000 + "]" * 50_000 + "}",
                 "application/json", AUTH),
    "not an object": ("search", "POST", "[1, 2]", "application/json", AUTH),
    "empty body": ("search", "POST", "", "application/json", AUTH),
    "form body": ("search", "POST", "query=hello", "application/x-www-form-urlencoded", AUTH),
    "text body": ("search", "POST", "x", "text/plain", AUTH),
    "JSON with charset": ("search", "POST", '{"query": ""}', "application/json; charset=utf-8", AUTH),
    "unknown field": ("search", "POST", {"query": QUERY, "top_k": 3}, "application/json", AUTH),
    "unknown and missing": ("search", "POST", {"top_k": 3}, "application/json", AUTH),
    "missing query": ("search", "POST", {"k": 3}, "application/json", AUTH),
    "k zero": ("search", "POST", {"query": QUERY, "k": 0}, "application/json", AUTH),
    "k text": ("search", "POST", {"query": QUERY, "k": "10"}, "application/json", AUTH),
    "hops": ("search", "POST", {"query": QUERY, "hops": 7}, "application/json", AUTH),
    "filter field": ("search", "POST", {"query": QUERY, "filters": {"content": "x"}}, "application/json", AUTH),
    "filter dict": ("search", "POST", {"query": QUERY, "filters": {"metadata.ext": {"$ne": 1}}},
                    "application/json", AUTH),
    "filter text": ("search", "POST", {"query": QUERY, "filters": "document_id=x"}, "application/json", AUTH),
    "filter metadata key": ("search", "POST", {"query": QUERY, "filters": {"metadata.colour": "red"}},
                            "application/json", AUTH),
    "weights": ("search", "POST", {"query": QUERY, "weights": {"bm25": 2}}, "application/json", AUTH),
    "empty query": ("search", "POST", {"query": " "}, "application/json", AUTH),
    "NUL": ("search", "POST", {"query": "a\u0000b"}, "application/json", AUTH),
    "session id": ("search", "POST", {"query": QUERY, "session_id": "nope"}, "application/json", AUTH),
    "GET": ("search", "GET", None, None, AUTH),
    "PUT without token": ("search", "PUT", "{}", "application/json", {}),
    "DELETE": ("feedback", "DELETE", None, None, AUTH),
    "no token": ("search", "POST", {"query": QUERY}, "application/json", {}),
    "basic auth": ("feedback", "POST", "{}", "application/json", {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}),
    "empty bearer": ("search", "POST", "{}", "application/json", {"HTTP_AUTHORIZATION": "Bearer "}),
    "wrong token": ("search", "POST", "{}", "application/json", {"HTTP_AUTHORIZATION": "Bearer wrong"}),
    "wrong token, wrong type": ("search", "POST", "x", "text/plain", {"HTTP_AUTHORIZATION": "Bearer wrong"}),
    "unicode token": ("feedback", "POST", "{}", "application/json", {"HTTP_AUTHORIZATION": "Bearer tök"}),
}

MISSING = "missing bearer token (send the header 'Authorization: Bearer <key>')"
INVALID = "invalid bearer token (unknown, revoked or expired)"
# case -> the new message (the old one is asserted too, so the list says exactly what changed)
CHANGED = {
    "no token": ("missing bearer token (send the header 'Authorization: Bearer <API_TOKEN>')", MISSING),
    "basic auth": ("missing bearer token (send the header 'Authorization: Bearer <API_TOKEN>')", MISSING),
    "empty bearer": ("missing bearer token (send the header 'Authorization: Bearer <API_TOKEN>')", MISSING),
    "wrong token": ("invalid bearer token", INVALID),
    "wrong token, wrong type": ("invalid bearer token", INVALID),
    "unicode token": ("invalid bearer token", INVALID),
    "rating out of range": ("rating: Expected one of -1, 0, 1 (thumbs down, neutral, thumbs up).",
                            "rating: expected one of -1, 0, 1 (thumbs down, neutral, thumbs up)"),
    "comment too long": ("comment: At most 5000 characters.", "comment: at most 5000 characters"),
    "foreign chunk": ("chunk_id: Chunk 'elsewhere:9' is not among this query's results.",
                      "chunk_id: chunk 'elsewhere:9' is not among this query's results"),
}


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.API_TOKEN = TOKEN
    settings.API_RATE_LIMIT = ""


def send(client, prefix, case):
    endpoint, method, body, content_type, headers = case
    data = json.dumps(body) if isinstance(body, dict) else body
    kwargs = {"content_type": content_type} if content_type else {}
    return client.generic(method, f"/{prefix}/{endpoint}", data or "", **kwargs, **headers)


def assert_same(name, old, new):
    assert new.status_code == old.status_code, (name, old.content, new.content)
    old_body, new_body = old.json(), new.json()
    if name in CHANGED:
        was, now = CHANGED[name]
        assert (old_body, new_body) == ({"error": was}, {"error": now}), name
    else:
        assert new_body == old_body, name
    for header in HEADERS:
        assert new.headers.get(header) == old.headers.get(header), (name, header)


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(SEARCH_CASES))
def test_the_same_request_gets_the_same_answer(client, name):
    assert_same(name, send(client, "legacy", SEARCH_CASES[name]), send(client, "api", SEARCH_CASES[name]))
    assert not Query.objects.exists()


@pytest.mark.django_db
def test_oversize_bodies_are_the_same_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    for endpoint in ("search", "feedback"):
        case = (endpoint, "POST", {"query": "x" * 2000}, "application/json", AUTH)
        assert_same("oversize", send(client, "legacy", case), send(client, "api", case))


@pytest.mark.django_db
def test_feedback_answers_are_the_same(client, make_query):
    query = str(make_query().id)
    cases = {
        "unknown query": {"query_id": "2d7f8a90-1c3b-4e5f-8a9b-0c1d2e3f4a5b", "rating": 1},
        "bad uuid": {"query_id": "nope", "rating": 1},
        "uuid type": {"query_id": 5, "rating": 1},
        "rating out of range": {"query_id": query, "rating": 2},
        "rating bool": {"query_id": query, "rating": True},
        "rating text": {"query_id": query, "rating": "1"},
        "missing rating": {"query_id": query},
        "unknown field": {"query_id": query, "rating": 1, "stars": 5},
        "foreign chunk": {"query_id": query, "rating": 1, "chunk_id": "elsewhere:9"},
        "comment type": {"query_id": query, "rating": 1, "comment": ["x"]},
        "comment NUL": {"query_id": query, "rating": 1, "comment": "a\u0000b"},
        "comment too long": {"query_id": query, "rating": 1, "comment": "x" * 5001},
    }
    for name, body in cases.items():
        case = ("feedback", "POST", body, "application/json", AUTH)
        assert_same(name, send(client, "legacy", case), send(client, "api", case))
    assert not Feedback.objects.exists()
    case = ("feedback", "POST", {"query_id": query, "rating": 0, "chunk_id": "doc-a:0"}, "application/json", AUTH)
    old, new = send(client, "legacy", case), send(client, "api", case)
    assert (old.status_code, new.status_code) == (201, 201)
    assert set(old.json()) == set(new.json()) == {"feedback_id"}
    assert new.headers["Content-Type"] == old.headers["Content-Type"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_searches_answer_the_same(client, milvus_backend, neo4j_store):
    seed(main_corpus(), MAIN_RELATIONS)
    body = {"query": QUERY, "k": 5, "hops": 1, "weights": {"vector": 1, "graph": 1, "keyword": 1},
            "filters": {"metadata.ext": "md"}}
    case = ("search", "POST", body, "application/json", AUTH)
    old, new = send(client, "legacy", case), send(client, "api", case)
    assert (old.status_code, new.status_code) == (200, 200)
    assert set(new.json()) == set(old.json()) == {"query_id", "results", "latency_ms"}
    assert new.json()["results"] == old.json()["results"]
    assert set(new.json()["latency_ms"]) == set(old.json()["latency_ms"])
    assert new.headers["Content-Type"] == old.headers["Content-Type"]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_an_unreachable_store_is_the_same_503(client, milvus_backend, neo4j_down):
    seed(main_corpus(), neo4j=False)
    body = {"query": QUERY, "hops": 1, "weights": {"graph": 1}}
    case = ("search", "POST", body, "application/json", AUTH)
    old, new = send(client, "legacy", case), send(client, "api", case)
    assert (old.status_code, new.status_code) == (503, 503)
    assert new.json()["error"].startswith("Neo4j is unreachable")
    assert new.json()["error"].split(" (")[0] == old.json()["error"].split(" (")[0]


@pytest.mark.django_db(transaction=True)
def test_postgresql_down_is_the_same_503(client):
    """PostgreSQL refusing connections while the request is served (a stopped server): the connection is pointed
    at a closed port, so psycopg's own error reaches the views."""
    from django.db import connection

    case = ("feedback", "POST", {"query_id": "2d7f8a90-1c3b-4e5f-8a9b-0c1d2e3f4a5b", "rating": 1},
            "application/json", AUTH)
    port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = "1"
    try:
        old, new = send(client, "legacy", case), send(client, "api", case)
    finally:
        connection.close()
        connection.settings_dict["PORT"] = port
    assert_same("PostgreSQL down", old, new)
    assert new.status_code == 503 and new.json() == {"error": "PostgreSQL is unreachable"}

"""POST /api/search and /api/feedback over HTTP (Django test client) on the real engines."""

from __future__ import annotations

import json

import pytest

from rag_data.models import Feedback, Query
from retrieval.tests.corpus import QUERY, main_corpus, seed
from retrieval.tests.corpus import corpus  # noqa: F401 (fixture)

TOKEN = "tok-4f9c2e7a1b8d6e3f-very-secret"
EQUAL = {"vector": 1, "graph": 1, "keyword": 1}


@pytest.fixture(autouse=True)
def api_token(settings):
    settings.API_TOKEN = TOKEN
    return TOKEN


def post(client, path, body, token=TOKEN, content_type="application/json", **extra):
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token is not None else {}
    return client.generic("POST", path, data, content_type=content_type, **headers, **extra)



@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_search_returns_fused_results_from_every_source(client, corpus):
    response = post(client, "/api/search", {"query": QUERY, "k": 5, "hops": 1, "weights": EQUAL,
                                            "filters": {"metadata.ext": "md"}})
    assert response.status_code == 200, response.content
    body = response.json()
    by_document = {row["document_id"]: row for row in body["results"]}
    assert by_document["ann-seed"]["sources"] == {"vector": 1, "keyword": 1}
    assert by_document["kw-only"]["sources"] == {"keyword": 2}
    assert by_document["graph-only"]["sources"] == {"graph": 1}
    assert [row["rank"] for row in body["results"]] == [1, 2, 3, 4, 5]
    assert set(body["results"][0]) == {"rank", "chunk_id", "document_id", "content", "metadata", "score", "sources"}
    assert {"embed", "vector", "keyword", "graph", "hydrate", "fusion", "total"} <= set(body["latency_ms"])
    query = Query.objects.get(pk=body["query_id"])
    assert [row["chunk_id"] for row in query.results] == [row["chunk_id"] for row in body["results"]]


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_feedback_lands_and_shows_on_the_admin_changelist(client, admin_client, corpus):
    search = post(client, "/api/search", {"query": QUERY, "k": 3,
                                          "session_id": "6f1c9a7e-0b9a-4c1e-9d55-2b6c4a1e8f00"}).json()
    chunk_id = search["results"][0]["chunk_id"]
    response = post(client, "/api/feedback", {"query_id": search["query_id"], "rating": -1, "chunk_id": chunk_id,
                                              "comment": "the seed chunk is off-topic"})
    assert response.status_code == 201, response.content
    feedback = Feedback.objects.get(pk=response.json()["feedback_id"])
    assert (str(feedback.query_id), feedback.rating, feedback.chunk_id) == (search["query_id"], -1, chunk_id)
    assert str(feedback.query.session_id) == "6f1c9a7e-0b9a-4c1e-9d55-2b6c4a1e8f00"

    page = admin_client.get("/admin/rag_data/feedback/?rating=-1")
    assert page.status_code == 200
    html = page.content.decode()
    assert chunk_id in html and QUERY[:40] in html and "thumbs down" in html
    detail = admin_client.get(f"/admin/rag_data/feedback/{feedback.pk}/change/").content.decode()
    assert "the seed chunk is off-topic" in detail


@pytest.mark.django_db
@pytest.mark.parametrize("body, status, message", [
    ({"query": QUERY, "k": 0}, 400, "k: must be a whole number from 1 to 100, got 0"),
    ({"query": QUERY, "k": "10"}, 400, "k: must be a whole number"),
    ({"query": QUERY, "k": 10.5}, 400, "k: must be a whole number"),
    ({"query": QUERY, "hops": 7}, 400, "hops: must be a whole number from 0 to 3"),
    ({"query": QUERY, "filters": {"content": "x"}}, 400, "filters: cannot filter on 'content'"),
    ({"query": QUERY, "filters": "document_id=x"}, 400, "filters: expected an object"),
    ({"query": QUERY, "filters": {"metadata.tag": {"$ne": 1}}}, 400, "filters: cannot use a dict value"),
    ({"query": QUERY, "weights": {"bm25": 2}}, 400, "weights: unknown source(s) bm25"),
    ({"query": ""}, 400, "query: must not be empty"),
    ({"query": 42}, 400, "query: expected text"),
    ({"query": "x" * 2001}, 400, "query: at most 2000 characters"),
    ({"query": "nul \u0000 inside"}, 400, "query: must not contain NUL"),
    ({"k": 3}, 400, "missing field(s): query"),
    ({"query": QUERY, "top_k": 3}, 400, "unknown field(s): top_k"),
    ({"query": QUERY, "session_id": "not-a-uuid"}, 400, "session_id: not a valid UUID"),
    ('{"query": "x",', 400, "malformed JSON"),
    ('{"query": NaN}', 400, "malformed JSON: NaN is not a JSON number"),
    ("[1, 2]", 400, "the body must be a JSON object, got list"),
    (b'{"query": "\xff\xfe"}', 400, "malformed JSON"),
    ('{"query": "x", "filters": ' + "[" * 100_000 + "]" * 100_000 + "}", 400, "malformed JSON: nested too deeply"),
])
def test_bad_search_requests_get_a_clear_400(client, body, status, message):
    response = post(client, "/api/search", body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert not Query.objects.exists()


@pytest.mark.django_db
def test_transport_errors(client, settings):
    response = client.get("/api/search", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert "use POST" in response.json()["error"]

    response = post(client, "/api/search", "query=hello", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415 and "application/json" in response.json()["error"]

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = post(client, "/api/search", {"query": "x" * 2000})
    assert response.status_code == 413 and "larger than 1024 bytes" in response.json()["error"]


@pytest.mark.django_db
@pytest.mark.parametrize("headers, message", [
    ({}, "missing bearer token"),
    ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, "missing bearer token"),
    ({"HTTP_AUTHORIZATION": "Bearer "}, "missing bearer token"),
    ({"HTTP_AUTHORIZATION": "Bearer wrong"}, "invalid bearer token"),
    ({"HTTP_AUTHORIZATION": f"Bearer {TOKEN[:-1]}"}, "invalid bearer token"),
    ({"HTTP_AUTHORIZATION": "Bearer tök-ünicode"}, "invalid bearer token"),
])
def test_missing_or_bad_token_is_401(client, headers, message):
    for path in ("/api/search", "/api/feedback"):
        response = client.post(path, "{}", content_type="application/json", **headers)
        assert response.status_code == 401
        assert message in response.json()["error"]
        assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.django_db
def test_auth_is_off_without_a_token_in_local_mode(client, settings):
    settings.API_TOKEN = ""
    response = client.post("/api/search", json.dumps({"query": QUERY, "k": 0}), content_type="application/json")
    assert response.status_code == 400  # reached validation: no 401


@pytest.mark.django_db
def test_feedback_errors(client, make_query):
    query = make_query()
    cases = [
        ({"query_id": "2d7f8a90-1c3b-4e5f-8a9b-0c1d2e3f4a5b", "rating": 1}, 404, "no query with id"),
        ({"query_id": "nope", "rating": 1}, 400, "query_id: not a valid UUID"),
        ({"query_id": 5, "rating": 1}, 400, "query_id: expected a UUID string"),
        ({"query_id": str(query.id), "rating": 2}, 400, "rating: expected one of -1, 0, 1"),
        ({"query_id": str(query.id), "rating": True}, 400, "rating: expected -1, 0 or 1"),
        ({"query_id": str(query.id), "rating": "1"}, 400, "rating: expected -1, 0 or 1"),
        ({"query_id": str(query.id)}, 400, "missing field(s): rating"),
        ({"query_id": str(query.id), "rating": 1, "chunk_id": "elsewhere:9"}, 400, "not among this query's results"),
        ({"query_id": str(query.id), "rating": 1, "comment": ["x"]}, 400, "comment: expected text"),
        ({"query_id": str(query.id), "rating": 1, "comment": "a\u0000b"}, 400, "comment: must not contain NUL"),
        ({"query_id": str(query.id), "rating": 1, "comment": "x" * 5001}, 400, "comment: at most 5000"),
    ]
    for body, status, message in cases:
        response = post(client, "/api/feedback", body)
        assert response.status_code == status, body
        assert message in response.json()["error"], (body, response.json())
    assert not Feedback.objects.exists()
    response = post(client, "/api/feedback", {"query_id": str(query.id), "rating": 0, "chunk_id": "doc-a:0"})
    assert response.status_code == 201
    assert Feedback.objects.get().chunk_id == "doc-a:0"


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_unreachable_store_is_503_naming_it_without_secrets(client, settings, milvus_backend, neo4j_down):
    seed(main_corpus(), neo4j=False)
    response = post(client, "/api/search", {"query": QUERY, "hops": 1, "weights": {"graph": 1}})
    assert response.status_code == 503
    assert response.json()["error"].startswith("Neo4j is unreachable")
    assert settings.NEO4J_PASSWORD not in response.content.decode()


@pytest.mark.django_db
def test_the_token_never_appears_in_any_response(client, make_query, settings):
    query = make_query()
    responses = [
        post(client, "/api/search", {"query": QUERY, "k": 0}),
        post(client, "/api/search", '{"query": '),
        post(client, "/api/search", {"query": QUERY}, token=TOKEN + "x"),
        post(client, "/api/search", {"query": QUERY}, token=None),
        post(client, "/api/search", {"query": TOKEN, "weights": {TOKEN: 1}}),
        post(client, "/api/search", {"query": QUERY, "filters": {TOKEN: 1}}),
        post(client, "/api/feedback", {"query_id": str(query.id), "rating": 1, "comment": "ok"}),
        post(client, "/api/feedback", {"query_id": TOKEN, "rating": 1}),
        post(client, "/api/search", "x", content_type="text/plain"),
        client.get("/api/feedback", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"),
    ]
    for response in responses:
        assert TOKEN not in response.content.decode(), response.content
        assert all(TOKEN not in str(value) for value in response.headers.values())


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_a_search_records_the_key_that_asked(client, corpus, settings):
    from apikeys.services import create_key

    row, key = create_key(name="search-client", scopes=["search"])
    response = post(client, "/api/search", {"query": QUERY, "k": 3}, token=key)
    assert response.status_code == 200, response.content
    assert Query.objects.get(pk=response.json()["query_id"]).api_key == row
    response = post(client, "/api/search", {"query": QUERY, "k": 3})  # the bootstrap API_TOKEN: no key
    assert Query.objects.get(pk=response.json()["query_id"]).api_key is None


@pytest.mark.django_db
def test_an_unknown_metadata_key_lists_the_keys_ingestion_writes(client):
    response = post(client, "/api/search", {"query": QUERY, "filters": {"metadata.colour": "red", "metadata.ext": "md"}})
    assert response.status_code == 400
    assert response.json() == {"error": "filters: unknown metadata key(s) colour; "
                                        "ingestion writes source, title, ordinal, ext, page"}


def test_the_filterable_metadata_keys_are_the_ones_ingestion_writes():
    from types import SimpleNamespace

    from ingestion.sources import chunk_id_for
    from ingestion.store_sync import milvus_rows
    from vectorstore.filters import METADATA_KEYS

    document = SimpleNamespace(source_path="guide.pdf", title="Guide", document_id="guide-pdf-1")
    chunks = [SimpleNamespace(chunk_id=chunk_id_for("guide-pdf-1", 0, "x", page=3), ordinal=0, text="x")]
    written = set(milvus_rows(document, chunks, [[0.0]])[0]["metadata"])
    assert written <= set(METADATA_KEYS) and "page" in written

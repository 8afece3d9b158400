"""Credentials never leak: every command (succeeding and failing, at LOG_LEVEL=DEBUG) and every endpoint
(API, health in all formats, admin pages) run with distinctive secrets; none appears in any output or log."""

from __future__ import annotations

import json
import logging

import pytest

from tests.reliability import support
from tests.reliability.test_startup import run_manage

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REAL_NEO4J_PASSWORD = "neo4j-local-password"
REAL_PG_PASSWORD = "rag-local-password"
SECRETS = {
    "API_TOKEN": "apiTokSecret7Kp27vQ",
    "EMBEDDER_API_KEY": "embKeySecret5Wx55Lm",
    "EXTRACTOR_API_KEY": "extKeySecret9Rr09Tb",
    "DJANGO_SECRET_KEY": "djSecretKey-4Mm3370-abcdefghijklmnopqrstuvwxyz",
    "MILVUS_TOKEN": "root:milvusTokSecret42",
}
WRONG_NEO4J_PASSWORD = "neo4jWrongSecret81x"
WRONG_PG_PASSWORD = "pgWrongSecret13Yy"
EVERY_SECRET = [*SECRETS.values(), WRONG_NEO4J_PASSWORD, WRONG_PG_PASSWORD, REAL_NEO4J_PASSWORD, REAL_PG_PASSWORD,
                "milvusTokSecret42"]


def _leaks(text: str) -> list[str]:
    return [secret for secret in EVERY_SECRET if secret in text]


@pytest.fixture
def env(settings, tmp_path):
    """Subprocess environment: this run's test database, a fresh standalone collection, every secret set."""
    prefix, collection = support.unique("sec"), support.unique("rel_sec_")
    support.small_settings(settings, collection)
    db = settings.DATABASES["default"]
    base = {
        **SECRETS,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MILVUS_URI": settings.MILVUS_URI, "MILVUS_COLLECTION": collection, "EMBEDDING_DIM": "32",
        "NEO4J_PASSWORD": REAL_NEO4J_PASSWORD, "LOG_LEVEL": "DEBUG", "DJANGO_DEBUG": "true",
        "STORE_RETRY_ATTEMPTS": "2", "STORE_RETRY_MAX_SECONDS": "2", "NEO4J_TIMEOUT": "3", "MILVUS_TIMEOUT": "10",
        "SEARCH_TIMEOUT": "15",  # above MILVUS_TIMEOUT (the settings refuse otherwise)
    }
    corpus = tmp_path / "corpus"
    support.write_corpus(corpus, 3)
    yield base, prefix, corpus
    support.drop_everything(prefix, collection)


def test_no_command_prints_a_secret_succeeding_or_failing(env):
    base, prefix, corpus = env
    wrong_pg = base["DATABASE_URL"].replace(f":{REAL_PG_PASSWORD}@", f":{WRONG_PG_PASSWORD}@")
    runs = [
        (["init_stores"], {}, 0),
        (["init_stores", "--check"], {}, 0),
        (["init_stores"], {"NEO4J_PASSWORD": WRONG_NEO4J_PASSWORD}, 1),
        (["init_stores"], {"DATABASE_URL": wrong_pg}, 1),
        (["init_stores"], {"MILVUS_URI": "http://root:milvusTokSecret42@127.0.0.1:9"}, 1),
        (["health_check", "--json"], {}, 0),
        (["health_check"], {"NEO4J_PASSWORD": WRONG_NEO4J_PASSWORD}, 1),
        (["health_check"], {"DATABASE_URL": wrong_pg}, 1),
        (["ingest", "--no-progress", "--id-prefix", prefix, str(corpus)], {}, 0),
        (["ingest", "--no-progress", "--id-prefix", prefix, str(corpus)], {"NEO4J_PASSWORD": WRONG_NEO4J_PASSWORD}, 1),
        (["ingest", "--no-progress", "--id-prefix", prefix + "x", str(corpus)],
         {"EXTRACTOR": "llm", "EXTRACTOR_URL": "http://127.0.0.1:9/v1"}, 1),
        (["search", "storage graph", "--json"], {}, 0),
        (["search", "storage", "--filter", f"document_id={SECRETS['API_TOKEN']}"], {}, 0),
        (["search", "storage"], {"EMBEDDER": "openai", "EMBEDDER_URL": "http://127.0.0.1:9/v1"}, 1),
        (["search", "storage"], {"MILVUS_URI": "http://127.0.0.1:9"}, 1),
        (["reconcile", "--dry-run"], {}, None),
        (["check_drift", "--json"], {}, 0),
        (["check_drift"], {"NEO4J_PASSWORD": WRONG_NEO4J_PASSWORD}, 0),  # a report, with its one-line error
        (["reconcile"], {"NEO4J_PASSWORD": WRONG_NEO4J_PASSWORD}, 1),
        (["delete_document", "--yes", "no-such-document"], {}, 1),
        (["milvus_describe"], {}, 0),
        (["graph_constraints"], {"NEO4J_PASSWORD": WRONG_NEO4J_PASSWORD}, 1),
    ]
    for args, extra, expected in runs:
        result = run_manage(*args, env={**base, **extra})
        output = result.stdout + result.stderr
        label = f"manage.py {' '.join(args)} with {sorted(extra)}"
        if expected is not None:
            assert result.returncode == expected, f"{label}: exit {result.returncode}\n{output[-2000:]}"
        assert "Traceback" not in output, f"{label}:\n{output[-3000:]}"
        assert not _leaks(output), f"{label} printed {_leaks(output)}:\n{output[-3000:]}"


def test_no_endpoint_or_log_line_shows_a_secret(env, client, admin_user, settings, caplog):
    from django.test import Client

    from graphstore.client import connection as graph_connection
    from ingestion.services import ingest_paths
    from vectorstore.client import connection as milvus_connection

    base, prefix, corpus = env
    settings.API_TOKEN, settings.SECRET_KEY = SECRETS["API_TOKEN"], SECRETS["DJANGO_SECRET_KEY"]
    settings.EMBEDDER_API_KEY, settings.EXTRACTOR_API_KEY = SECRETS["EMBEDDER_API_KEY"], SECRETS["EXTRACTOR_API_KEY"]
    admin_client = Client()
    admin_client.force_login(admin_user)  # after SECRET_KEY changed: sessions are signed with it
    caplog.set_level(logging.DEBUG)
    ingest_paths([corpus], id_prefix=prefix)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {SECRETS['API_TOKEN']}"}

    def api(body, **headers):
        return client.post("/api/search", json.dumps(body), content_type="application/json", **headers)

    ok = api({"query": "graph storage"}, **auth)
    assert ok.status_code == 200, ok.content
    responses = [
        ok, api({"query": "graph storage"}), api({"query": "x"}, HTTP_AUTHORIZATION="Bearer wrong"),
        api({"query": SECRETS["API_TOKEN"], "filters": {"nope": 1}}, **auth),
        client.post("/api/feedback", json.dumps({"query_id": ok.json()["query_id"], "rating": 1}),
                    content_type="application/json", **auth),
    ]
    for accept in ("application/json", "text/plain", "text/html"):
        responses.append(client.get("/health/", HTTP_ACCEPT=accept))
    for path in ("/admin/", "/admin/rag_data/query/", "/admin/rag_data/feedback/", "/admin/rag_data/document/",
                 "/admin/rag_data/chunk/", f"/admin/rag_data/query/{ok.json()['query_id']}/change/",
                 "/admin/rag_data/document/?q=sec", "/admin/drift/driftreport/"):
        page = admin_client.get(path)
        assert page.status_code == 200, path
        responses.append(page)
    # Failing stores: a wrong Neo4j password, a Milvus URI carrying credentials that cannot be reached.
    settings.NEO4J_PASSWORD = WRONG_NEO4J_PASSWORD
    settings.MILVUS_URI = "http://root:milvusTokSecret42@127.0.0.1:9"
    graph_connection().close(), milvus_connection().close()
    failing_health = client.get("/health/", HTTP_ACCEPT="application/json")
    assert failing_health.status_code == 503 and set(failing_health.json()["failing"]) == {"milvus", "neo4j"}
    failing_search = api({"query": "graph storage"}, **auth)
    assert failing_search.status_code == 503
    responses += [failing_health, failing_search, client.get("/health/", HTTP_ACCEPT="text/plain")]
    settings.NEO4J_PASSWORD = REAL_NEO4J_PASSWORD
    graph_connection().close(), milvus_connection().close()

    for response in responses:
        body = response.content.decode(errors="replace") + str(dict(response.headers))
        assert not _leaks(body), f"{response.request['PATH_INFO']} shows {_leaks(body)}"
    logged = "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)
    assert not _leaks(logged), f"log lines show {_leaks(logged)}"

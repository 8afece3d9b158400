"""Shared fixtures: the real engines of the test stack. An unreachable engine fails the test, never skips it.

Registered for the whole tree by the root conftest.py. The tests run on the test stack that `make test`
starts (.stack/test/, its own ports: infrastructure/local/profiles.py), never on the stack of `make run`:
before the first test, `_test_stack_only` stops the whole run with one line when a store the settings
point at is not the test stack on loopback (RAG_TEST_ALLOW_STORES=1: your own disposable servers).
TEST_DB_SUFFIX=name gives this run its own PostgreSQL test database (test_rag_name), so that two
developers' runs on one server do not collide.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import socket
import sys
import uuid
from urllib.parse import urlsplit

import pytest

from config.env import LOCAL_DEFAULTS
from infrastructure.local import profiles

# The real Milvus standalone server of the test stack (or yours); Milvus Lite runs from a temporary file.
MILVUS_SERVER_URI = os.environ.get("MILVUS_STANDALONE_URI", LOCAL_DEFAULTS["MILVUS_STANDALONE_URI"])


def _stores_in_use() -> dict[str, str]:
    """Every store the settings (and these fixtures) point at: variable -> URL or Milvus Lite path."""
    from django.conf import settings

    stores = {"MILVUS_STANDALONE_URI": MILVUS_SERVER_URI, "MILVUS_URI": settings.MILVUS_URI,
              "NEO4J_URI": settings.NEO4J_URI}
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("sqlite3"):
        stores["DATABASE_URL"] = f"postgres://{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}"
    return stores


def _refuse_unless_test_stack(stores: dict[str, str]) -> None:
    if profiles.allow_other_stores():
        return
    problems = profiles.foreign_stores(stores)
    if problems:
        pytest.exit(profiles.refusal(problems), returncode=pytest.ExitCode.USAGE_ERROR)


@pytest.fixture(scope="session", autouse=True)
def _test_stack_only():
    """Before anything touches a store: every store is the test stack on loopback, or the run stops (one line)."""
    _refuse_unless_test_stack(_stores_in_use())


def _require_port(name: str, url: str, default_port: int) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or default_port
    try:
        socket.create_connection((host, port), timeout=3).close()
    except OSError as error:
        pytest.fail(
            f"{name} is not reachable at {host}:{port} ({error}). Run the tests with `make test`, which starts "
            f"the test stack (or `make test-stack-up`); integration tests never skip.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def milvus_lite_uri(tmp_path_factory) -> str:
    return str(tmp_path_factory.mktemp("milvus-lite") / "test.db")


@pytest.fixture(params=["standalone", "lite"])
def milvus_backend(request, settings, milvus_lite_uri):
    """Runs the test once against the real Milvus standalone server and once against Milvus Lite.

    Each test gets its own collection, dropped afterwards.
    """
    from vectorstore import client

    if request.param == "standalone":
        _require_port("Milvus standalone", MILVUS_SERVER_URI, 19530)
        settings.MILVUS_URI = MILVUS_SERVER_URI
    else:
        settings.MILVUS_URI = milvus_lite_uri
    settings.MILVUS_COLLECTION = f"test_{uuid.uuid4().hex[:12]}"
    client.connection().close()
    yield request.param
    drop_test_collection(settings)


def drop_test_collection(settings) -> None:
    """Drop the test's own Milvus collection (settings.MILVUS_COLLECTION, if it was made) and close the client:
    the teardown every fixture that points a test at its own collection shares."""
    from vectorstore import client

    try:
        milvus = client.get_client()
        if milvus.has_collection(settings.MILVUS_COLLECTION):
            milvus.drop_collection(settings.MILVUS_COLLECTION)
    finally:
        client.connection().close()


# This run's own graph namespace: a test never reads, writes or wipes another deployment's (or run's) graph.
TEST_NAMESPACE = f"test-{os.environ.get('TEST_DB_SUFFIX') or 'run'}-{uuid.uuid4().hex[:8]}"[:64]


@pytest.fixture(autouse=True)
def _test_namespace(settings):
    """Every test writes Neo4j in this run's namespace (settings.RAG_NAMESPACE), never the deployment's."""
    settings.RAG_NAMESPACE = TEST_NAMESPACE


@pytest.fixture
def neo4j_down(settings):
    """Neo4j unreachable for this test: NEO4J_URI points where nothing listens, with one quick attempt (the
    process's driver is closed before and after, so neither the test nor the next one reuses a connection)."""
    from graphstore import client

    settings.NEO4J_URI = "bolt://127.0.0.1:1"
    settings.STORE_RETRY_ATTEMPTS, settings.STORE_RETRY_MAX_SECONDS = 1, 0.5
    client.connection().close()
    yield
    client.connection().close()


@pytest.fixture
def neo4j_store(settings):
    """A clean graph namespace (this run's nodes removed before and after), reached with the configured driver.

    Only the test stack's graph, checked again here (a test may have changed the settings), and in it only the
    test namespace: other deployments' and other runs' graphs on the server are untouched.
    """
    from graphstore import client, selectors

    _refuse_unless_test_stack({"NEO4J_URI": settings.NEO4J_URI})
    _require_port("Neo4j", settings.NEO4J_URI.replace("bolt://", "http://"), 7687)
    settings.RAG_NAMESPACE = TEST_NAMESPACE
    client.connection().close()
    driver = client.get_driver()
    if selectors.unnamespaced_count():
        pytest.fail(f"Neo4j at {settings.NEO4J_URI} holds nodes from before namespaces; run `manage.py init_stores` "
                    "with your deployment's settings first, so that they are adopted by it and not by a test "
                    "namespace", pytrace=False)
    database = settings.NEO4J_DATABASE
    wipe_graph_namespace(driver, database, TEST_NAMESPACE)
    yield driver
    wipe_graph_namespace(driver, database, TEST_NAMESPACE)  # with this driver: the test may have changed settings
    client.connection().close()


def wipe_graph_namespace(driver, database: str, namespace: str) -> None:
    """Delete the namespace's nodes (and so their relationships), in batches; nothing of other namespaces."""
    with driver.session(database=database) as session:
        session.run("MATCH (n) WHERE (n:Document OR n:Concept) AND n.namespace = $namespace "
                    "CALL (n) { DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS", namespace=namespace).consume()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    suffix = os.environ.get("TEST_DB_SUFFIX", "")
    if suffix:
        from pytest_django.fixtures import _set_suffix_to_test_databases

        _set_suffix_to_test_databases(suffix)


@pytest.fixture(scope="session", autouse=True)
def _postgres_reachable(request, _test_stack_only):
    """Fail fast, with one clear line, when the test run needs PostgreSQL and it is down."""
    from django.conf import settings

    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("postgresql"):
        _require_port("PostgreSQL", f"postgres://{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}", 5432)


# --- Factories: every row goes through the services, as production writes do ---------------------------

_counter = itertools.count(1)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def make_query():
    from rag_data import services

    def _make(text="how do graphs help retrieval?", results=None, session=None, **extra):
        if results is None:
            results = [
                {"chunk_id": "doc-a:0", "document_id": "doc-a", "score": 0.91, "sources": ["vector", "graph"]},
                {"chunk_id": "doc-b:3", "document_id": "doc-b", "score": 0.42, "sources": ["keyword"]},
            ]
        extra.setdefault("latency_ms", 12.5)
        return services.record_query(text=text, results=results, session=session, **extra)

    return _make


@pytest.fixture
def make_feedback(make_query):
    from rag_data import services

    def _make(rating=1, chunk_id=None, comment="", query=None, query_text=None):
        if query is None:
            query = make_query(text=query_text or f"query number {next(_counter)}")
        return services.record_feedback(query_id=query.id, rating=rating, chunk_id=chunk_id, comment=comment)

    return _make


@pytest.fixture
def make_document():
    from rag_data.models import Document

    def _make(document_id=None, **fields):
        document_id = document_id or f"doc-{next(_counter)}"
        fields.setdefault("source_path", f"corpus/{document_id}.md")
        fields.setdefault("content_hash", sha256(document_id))
        return Document.objects.create(document_id=document_id, **fields)

    return _make


@pytest.fixture
def make_chunk():
    from rag_data.models import Chunk

    def _make(document, ordinal, text):
        return Chunk.objects.create(
            chunk_id=f"{document.document_id}:{ordinal}", document=document, ordinal=ordinal,
            text=text, content_hash=sha256(text),
        )

    return _make


@pytest.fixture
def stub():
    """A local OpenAI-compatible HTTP stub (embeddings, chat completions): not a store."""
    from tests.httpstub import StubServer

    with StubServer() as server:
        yield server


@pytest.fixture
def fast_retries(settings):
    settings.STORE_RETRY_ATTEMPTS = 3
    settings.STORE_RETRY_INITIAL_WAIT = 0
    settings.STORE_RETRY_MAX_WAIT = 0


# procrastinate's tables (the job queue) are not Django-managed models, so the flush after a transactional test
# leaves them: without this, jobs one test queued would still be there (and run by a worker) in the next.
QUEUE_TABLES = "procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers"


@pytest.fixture(autouse=True)
def _empty_job_queue(request):
    yield
    marker = request.node.get_closest_marker("django_db")
    if marker is None or not (marker.kwargs.get("transaction") or (marker.args and marker.args[0])):
        return  # a test in a transaction rolled its jobs back
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
        if cursor.fetchone()[0]:
            cursor.execute(f"TRUNCATE {QUEUE_TABLES} RESTART IDENTITY CASCADE")


@pytest.fixture(autouse=True)
def _search_workers_closed():
    """Search worker threads keep their PostgreSQL connections between searches: end them after each test (before
    the job queue is emptied, and the database flushed or dropped). No search ran if the module is not loaded."""
    yield
    workers = sys.modules.get("retrieval.workers")
    if workers is not None:
        workers.shutdown_workers()

"""Smoke tests of the test stack: each engine reached with its own real client; create, write, read, clean up."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from config.env import LOCAL_DEFAULTS
from tests.integration.engines import TEST_ENV, TEST_STACK_DIR

pytestmark = pytest.mark.integration


def test_postgres_round_trip_with_psycopg(settings):
    import psycopg

    db = settings.DATABASES["default"]
    table = f"smoke_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user=db["USER"], password=db["PASSWORD"],
                         dbname=db["NAME"], connect_timeout=5, autocommit=True) as conn:
        assert conn.execute("SHOW server_version").fetchone()[0].startswith("18")
        conn.execute(f'CREATE TABLE "{table}" (id int primary key, body text)')
        try:
            conn.execute(f'INSERT INTO "{table}" VALUES (%s, %s)', (1, "it's here"))
            assert conn.execute(f'SELECT body FROM "{table}" WHERE id = %s', (1,)).fetchone() == ("it's here",)
        finally:
            conn.execute(f'DROP TABLE "{table}"')


def test_pgvector_is_available(settings):
    import psycopg

    db = settings.DATABASES["default"]
    with psycopg.connect(host=db["HOST"], port=db["PORT"], user="postgres", dbname="postgres",
                         password=_superuser_password(), connect_timeout=5, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS vector")
        assert conn.execute("SELECT '[1,2,3]'::vector <-> '[1,2,4]'::vector").fetchone()[0] == 1


def _superuser_password() -> str:
    from infrastructure.local.postgres import Postgres

    return Postgres(stack_dir=TEST_STACK_DIR).superuser_password_file.read_text().strip()


def test_milvus_round_trip_with_pymilvus(milvus_backend, settings):
    """Runs on the real standalone server and on Milvus Lite."""
    from pymilvus import DataType, MilvusClient

    from vectorstore.client import LITE_GRPC_OPTIONS, is_lite

    # As the app opens Lite (no idle keepalive pings, which Lite answers with GOAWAY after a long idle spell).
    options = {"grpc_options": LITE_GRPC_OPTIONS} if is_lite(settings.MILVUS_URI) else {}
    client = MilvusClient(uri=settings.MILVUS_URI, timeout=10, **options)
    name = settings.MILVUS_COLLECTION
    schema = client.create_schema(auto_id=False)
    schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=32)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    index = client.prepare_index_params()
    if is_lite(settings.MILVUS_URI):  # Milvus Lite 2.5 builds FLAT, IVF_FLAT and AUTOINDEX only (docs/production.md)
        index.add_index(field_name="vec", index_type="FLAT", metric_type="COSINE")
    else:
        index.add_index(field_name="vec", index_type="HNSW", metric_type="COSINE", params={"M": 8, "efConstruction": 64})
    client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
    try:
        client.insert(name, [{"pk": "a", "vec": [1, 0, 0, 0]}, {"pk": "b", "vec": [0, 1, 0, 0]}])
        rows = client.get(name, ids=["a"], output_fields=["pk"])
        assert [row["pk"] for row in rows] == ["a"]
        hits = client.search(name, data=[[0.9, 0.1, 0, 0]], limit=1, anns_field="vec")
        assert hits[0][0]["distance"] > 0.9
    finally:
        client.drop_collection(name)
        client.close()


def test_neo4j_round_trip_with_the_driver(settings):
    from neo4j import GraphDatabase

    marker = uuid.uuid4().hex
    with GraphDatabase.driver(settings.NEO4J_URI, auth=(settings.NEO4J_USER, settings.NEO4J_PASSWORD)) as driver:
        records, _, _ = driver.execute_query("CALL dbms.components() YIELD versions RETURN versions[0] AS v")
        assert records[0]["v"].startswith("5.26")
        driver.execute_query("CREATE (:SmokeTest {marker: $m})", m=marker)
        try:
            records, _, _ = driver.execute_query("MATCH (n:SmokeTest {marker: $m}) RETURN count(n) AS c", m=marker)
            assert records[0]["c"] == 1
        finally:
            driver.execute_query("MATCH (n:SmokeTest {marker: $m}) DELETE n", m=marker)


def test_stack_status_reports_every_engine_up():
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "infrastructure.local", "status"],
                            capture_output=True, text=True, timeout=120, env=TEST_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"profile test; state, data and logs: {TEST_STACK_DIR}" in result.stdout
    for engine in ("postgres", "milvus", "milvus-lite", "neo4j"):
        assert any(line.split()[:2] == [engine, "up"] for line in result.stdout.splitlines()), result.stdout


def test_stack_up_twice_is_harmless(settings):
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "infrastructure.local", "up"],
                            capture_output=True, text=True, timeout=300, env=TEST_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "already running" in result.stdout
    for password in (LOCAL_DEFAULTS["NEO4J_PASSWORD"], settings.NEO4J_PASSWORD):
        assert password not in result.stdout + result.stderr

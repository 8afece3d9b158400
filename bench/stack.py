"""Where the benchmarks run: their own PostgreSQL database, Milvus collections and Neo4j documents.

`configure()` must run before Django is set up: it points DATABASE_URL at a bench database (created
with the app role, which has CREATEDB, and migrated), MILVUS_URI at the standalone server, and passes
the same environment to the child processes (ingest, init_stores). Neo4j community edition has one
database, so the benchmark writes its graph in a namespace of its own (RAG_NAMESPACE=bench, made-up concept
words from bench/corpus.py), removed by `clean_graph()` without touching anyone else's nodes.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

ID_PREFIX = "bench"
DATABASE = "rag_bench"
MILVUS_SERVER = "http://127.0.0.1:19530"
# BENCH_SUFFIX: other names for the bench's Milvus collections, for two benchmarks on one shared Milvus server.
_SUFFIX = os.environ.get("BENCH_SUFFIX", "")
COLLECTION = "bench_chunks" + _SUFFIX
NAMESPACE = "bench"
RAW_COLLECTION = "bench_raw_chunks" + _SUFFIX
INIT_COLLECTION = "bench_init_chunks" + _SUFFIX


def database_url(name: str) -> str:
    from config.env import LOCAL_DEFAULTS

    base = urlsplit(os.environ.get("DATABASE_URL", LOCAL_DEFAULTS["DATABASE_URL"]))
    return urlunsplit(base._replace(path="/" + name))


def create_database(name: str, *, drop: bool = False) -> None:
    """CREATE DATABASE `name` as the app role (CREATEDB; template1 carries the stack's extensions)."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(os.environ.get("DATABASE_URL") or database_url("rag"), autocommit=True,
                         connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and drop:
            conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(name)))
            exists = None
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def drop_database(name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(os.environ.get("DATABASE_URL") or database_url("rag"), autocommit=True,
                         connect_timeout=5) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def configure(database: str = DATABASE) -> dict:
    """Set the environment for this process and its children, set Django up, migrate; returns the env."""
    create_database(database)
    os.environ["DATABASE_URL"] = database_url(database)
    os.environ["MILVUS_URI"] = os.environ.get("BENCH_MILVUS_URI", MILVUS_SERVER)
    os.environ["MILVUS_COLLECTION"] = COLLECTION
    os.environ["RAG_NAMESPACE"] = NAMESPACE  # the benchmark's own graph: nothing else on the server is touched
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # DEBUG off, as served in production: DEBUG wraps every SQL statement in Django's debug cursor and keeps a
    # log of them (local runs default to DEBUG on).
    os.environ.setdefault("DJANGO_DEBUG", "0")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    return dict(os.environ)


def use_collection(name: str) -> None:
    """Point the project at another Milvus collection (as the tests do)."""
    from django.conf import settings

    from vectorstore.client import connection as milvus_connection

    settings.MILVUS_COLLECTION = name
    milvus_connection().close()


# --- raw clients: the drivers themselves, configured from the same settings -------------------

def raw_milvus():
    from django.conf import settings
    from pymilvus import MilvusClient

    return MilvusClient(uri=settings.MILVUS_URI, token=settings.MILVUS_TOKEN or "", timeout=settings.MILVUS_TIMEOUT)


def raw_neo4j():
    from django.conf import settings
    from neo4j import GraphDatabase

    return GraphDatabase.driver(settings.NEO4J_URI, auth=(settings.NEO4J_USER, settings.NEO4J_PASSWORD))


def raw_postgres():
    import psycopg

    return psycopg.connect(os.environ["DATABASE_URL"], autocommit=False)


# --- cleaning up the benchmark's own data ------------------------------------------------------

def drop_collection(name: str) -> None:
    client = raw_milvus()
    try:
        if client.has_collection(name):
            client.drop_collection(name)
    finally:
        client.close()


def clean_graph(batch: int = 5000) -> None:
    """Delete the benchmark's graph namespace (its Documents and Concepts), in batches; nothing else."""
    from django.conf import settings

    driver = raw_neo4j()
    try:
        for label in ("Document", "Concept"):
            while True:
                records, _, _ = driver.execute_query(
                    f"MATCH (n:{label} {{namespace: $namespace}}) WITH n LIMIT $batch DETACH DELETE n "
                    "RETURN count(n) AS removed", namespace=NAMESPACE, batch=batch, database_=settings.NEO4J_DATABASE)
                if records[0]["removed"] < batch:
                    break
    finally:
        driver.close()


def loaded(manifest: dict) -> bool:
    """Whether the stores hold exactly the corpus of `manifest`, every document complete (for --reuse)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(*) FILTER (WHERE status = 'complete') FROM rag_data_document")
        documents, complete = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM rag_data_chunk")
        (chunks,) = cursor.fetchone()
    if not (documents == complete == manifest["files"] and chunks == manifest["chunks"]):
        return False
    client = raw_milvus()
    try:
        from django.conf import settings

        return client.has_collection(settings.MILVUS_COLLECTION)
    finally:
        client.close()


def clean_postgres() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE rag_data_chunk, rag_data_document, rag_data_query, rag_data_feedback CASCADE")


def clean_all() -> None:
    """Everything the benchmarks wrote: bench database rows, bench collections, bench graph."""
    clean_postgres()
    for name in (COLLECTION, RAW_COLLECTION):
        drop_collection(name)
    clean_graph()

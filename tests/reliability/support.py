"""Helpers for the reliability suite: whole-engine SIGSTOP/SIGKILL, a generated corpus, the stores' state.

tests/integration/engines.py pauses the engine's main process; here the whole process tree is signalled,
so that PostgreSQL's per-connection backends stop too (pausing only the postmaster leaves established
connections working, which would test nothing).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections import defaultdict

import psutil

from tests.integration.engines import ENGINES, server_pids, stack

# Recovery and kill timings measured by the tests (each test also prints its own with -s), for the README.
TIMINGS: dict[str, float] = {}


def engine_processes(store: str) -> list[psutil.Process]:
    """The engine's server process(es) and all their descendants."""
    roots = set(server_pids(store))
    main = ENGINES[store]().pid()  # Milvus: the milvus-server wrapper (server_pids gives the binary)
    if main:
        roots.add(main)
    found: dict[int, psutil.Process] = {}
    for pid in roots:
        with contextlib.suppress(psutil.NoSuchProcess):
            process = psutil.Process(pid)
            found[pid] = process
            for child in process.children(recursive=True):
                found[child.pid] = child
    return list(found.values())


def _signal(processes, sig) -> None:
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess, ProcessLookupError):
            os.kill(process.pid, sig)


@contextlib.contextmanager
def frozen(store: str):
    """SIGSTOP the whole engine (established connections included); SIGCONT whatever happens."""
    processes = engine_processes(store)
    _signal(processes, signal.SIGSTOP)
    try:
        yield
    finally:
        _signal(processes, signal.SIGCONT)


def kill_and_restart(store: str) -> float:
    """SIGKILL the whole engine, start it again with the local stack; returns the seconds until it answers."""
    processes = engine_processes(store)
    _signal(processes, signal.SIGKILL)
    # Until the init process reaps them they are zombies, and PostgreSQL refuses to start while the pid in
    # its postmaster.pid still exists.
    deadline = time.monotonic() + 30
    while any(psutil.pid_exists(p.pid) for p in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    started = time.monotonic()
    stack("up", store)
    return time.monotonic() - started


def write_corpus(root, count: int, tag: str = "") -> list:
    """`count` small Markdown files with overlapping topics (so the graph has RELATED_TO edges)."""
    topics = ["vector", "graph", "keyword", "fusion", "ledger", "milvus", "neo4j", "postgres"]
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        a, b = topics[n % 8], topics[(n * 3 + 1) % 8]
        body = "\n\n".join(f"Note {n}{tag} explains {a} search and {b} storage. The {a} index helps {b} "
                           f"queries in part {p}." for p in range(4))
        path = root / f"doc{n:03d}.md"
        path.write_text(f"# Note {n}{tag}\n\n{body}\n")
        paths.append(path)
    return paths


def unique(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def small_settings(settings, collection: str) -> None:
    """Small vectors and chunks, short timeouts and retry budgets, the standalone server, `collection`."""
    from tests.fixtures import MILVUS_SERVER_URI
    from vectorstore import client

    settings.MILVUS_URI = MILVUS_SERVER_URI
    settings.MILVUS_COLLECTION = collection
    settings.EMBEDDING_DIM, settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 32, 300, 50
    settings.EMBEDDER, settings.EXTRACTOR = "offline", "keyphrase"
    settings.MILVUS_TIMEOUT, settings.NEO4J_TIMEOUT = 6.0, 2.0  # loading a collection takes a few seconds
    settings.STORE_RETRY_ATTEMPTS, settings.STORE_RETRY_MAX_SECONDS = 2, 2.0
    settings.STORE_RETRY_INITIAL_WAIT, settings.STORE_RETRY_MAX_WAIT = 0.1, 0.5
    client.connection().close()


def state(prefix: str) -> dict:
    """{"postgres"|"milvus"|"neo4j": {document_id: chunk ids (Neo4j: None)}} for documents starting with `prefix`,
    plus the raw Milvus row count (duplicates show there) and the ledger statuses."""
    from graphstore import client as graph
    from rag_data.models import Chunk, Document
    from vectorstore.client import collection_name
    from vectorstore.selectors import iterate_rows

    pg: dict[str, set] = {d: set() for d in Document.objects.filter(document_id__startswith=prefix)
                          .values_list("document_id", flat=True)}
    for document_id, chunk_id in Chunk.objects.filter(document__document_id__startswith=prefix).values_list(
            "document__document_id", "chunk_id"):
        pg[document_id].add(chunk_id)
    milvus: dict[str, set] = defaultdict(set)
    rows = 0
    for row in iterate_rows(collection_name(), filter="", output_fields=["chunk_id", "document_id"]):
        rows += 1
        milvus[row["document_id"]].add(row["chunk_id"])
    records = graph.read("MATCH (d:Document) WHERE d.document_id STARTS WITH $prefix "
                         "RETURN d.document_id AS id, count(*) AS n", prefix=prefix).records
    statuses = set(Document.objects.filter(document_id__startswith=prefix).values_list("status", flat=True))
    return {"postgres": pg, "milvus": dict(milvus), "milvus_rows": rows,
            "neo4j": {r["id"]: r["n"] for r in records}, "statuses": statuses}


def assert_identical(prefix: str, expected_documents: int | None = None) -> dict:
    """PostgreSQL, Milvus and Neo4j hold the same documents and chunk ids: nothing lost, nothing duplicated."""
    found = state(prefix)
    pg, milvus, neo4j = found["postgres"], found["milvus"], found["neo4j"]
    assert milvus == pg, f"Milvus and PostgreSQL differ: {sorted(set(milvus) ^ set(pg))[:10]}"
    assert set(neo4j) == set(pg), f"Neo4j and PostgreSQL differ: {sorted(set(neo4j) ^ set(pg))[:10]}"
    assert found["milvus_rows"] == sum(len(c) for c in pg.values()), "duplicate rows in Milvus"
    assert set(neo4j.values()) <= {1}, "duplicate Document nodes in Neo4j"
    assert found["statuses"] <= {"complete"}, found["statuses"]
    if expected_documents is not None:
        assert len(pg) == expected_documents, f"{len(pg)} documents, expected {expected_documents}"
    return found


def drop_everything(prefix: str, collection: str) -> None:
    """Remove this test's graph nodes and Milvus collection (the shared graph keeps other users' data)."""
    from graphstore import client as graph
    from vectorstore import client

    with contextlib.suppress(Exception):
        graph.write("MATCH (d:Document) WHERE d.document_id STARTS WITH $prefix DETACH DELETE d", prefix=prefix)
    with contextlib.suppress(Exception):
        milvus = client.get_client()
        if milvus.has_collection(collection):
            milvus.drop_collection(collection)
    client.connection().close()

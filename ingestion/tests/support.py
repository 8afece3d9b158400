"""Fixtures and readers for the ingestion/reconcile integration tests (real PostgreSQL, Milvus, Neo4j)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from rag_data.models import Chunk, Document

GUIDE = """# Vector databases

## Indexes
A vector database stores embeddings and answers nearest neighbour queries. The vector database
builds an index such as HNSW. HNSW graphs make the vector database fast.

## Filters
Metadata filters narrow a vector database search. Filters are escaped literals.
"""

GRAPHS = """# Knowledge graphs

A knowledge graph links concepts. The knowledge graph in Neo4j relates concepts through co-occurrence.
Graph expansion walks the knowledge graph from the concepts of a hit to related documents.
"""

NOTES = """Hybrid retrieval notes.

Hybrid retrieval fuses vector search, graph expansion and keyword search. Reciprocal rank fusion
combines the rankings; hybrid retrieval then returns the best chunks with their sources.
"""

RST = """Keyword search
==============

Keyword search uses PostgreSQL full-text search. Keyword search ranks chunks by ts_rank.
"""


def _small(settings) -> None:
    settings.EMBEDDING_DIM = 32
    settings.EMBEDDER = "offline"
    settings.EXTRACTOR = "keyphrase"
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 200, 40


@pytest.fixture
def stores(milvus_backend, neo4j_store, settings):
    """All three real engines, a per-test Milvus collection (standalone and Lite), small vectors."""
    _small(settings)
    return milvus_backend


class Neo4jOutage:
    """Points the driver at a closed port (a real outage, not a fake) and back."""

    CLOSED = "bolt://127.0.0.1:9"

    def __init__(self, settings):
        self.settings, self.good_uri = settings, settings.NEO4J_URI

    def start(self) -> None:
        from graphstore.client import connection as graph_connection

        self.settings.STORE_RETRY_ATTEMPTS, self.settings.STORE_RETRY_MAX_SECONDS = 1, 1
        self.settings.NEO4J_URI = self.CLOSED
        graph_connection().close()

    def end(self) -> None:
        from graphstore.client import connection as graph_connection

        self.settings.NEO4J_URI = self.good_uri
        graph_connection().close()

    def wipe(self) -> None:
        from graphstore.client import get_driver
        from tests.fixtures import wipe_graph_namespace

        self.end()
        wipe_graph_namespace(get_driver(), self.settings.NEO4J_DATABASE, self.settings.RAG_NAMESPACE)


@pytest.fixture
def outage_stores(milvus_backend, settings):
    """Like `stores`, for tests that take Neo4j away part-way; the graph is wiped with a fresh driver
    (neo4j_store's own driver is closed as soon as the settings change)."""
    from graphstore.client import connection as graph_connection

    _small(settings)
    outage = Neo4jOutage(settings)
    outage.wipe()
    yield outage
    outage.wipe()
    graph_connection().close()


@pytest.fixture
def corpus(tmp_path) -> Path:
    root = tmp_path / "corpus"
    (root / "sub").mkdir(parents=True)
    (root / "guide.md").write_text(GUIDE)
    (root / "notes.txt").write_text(NOTES)
    (root / "sub" / "graphs.markdown").write_text(GRAPHS)
    (root / "sub" / "search.rst").write_text(RST)
    (root / "picture.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (root / ".hidden.md").write_text("ignored")
    return root


def pg_state() -> dict[str, set[str]]:
    state: dict[str, set[str]] = {d: set() for d in Document.objects.values_list("document_id", flat=True)}
    for document_id, chunk_id in Chunk.objects.values_list("document__document_id", "chunk_id"):
        state[document_id].add(chunk_id)
    return state


def milvus_state() -> dict[str, set[str]]:
    from vectorstore.selectors import all_chunk_documents

    state: dict[str, set[str]] = defaultdict(set)
    for chunk_id, document_id in all_chunk_documents().items():
        state[document_id].add(chunk_id)
    return dict(state)


def neo4j_documents() -> set[str]:
    from graphstore import selectors

    return set(selectors.document_ids())


def assert_stores_agree(absent=()) -> dict[str, set[str]]:
    """The three stores hold exactly the same documents and chunk ids, and every document is complete.

    Milvus is compared whole (the collection is this test's own). The Neo4j database is shared with
    whatever else runs on the local stack, so only this test's documents, and the ids in `absent`, are
    looked at there.
    """
    pg = pg_state()
    milvus, graph = milvus_state(), neo4j_documents()
    assert milvus == pg, f"Milvus {sorted(milvus)} vs PostgreSQL {sorted(pg)}"
    assert set(pg) <= graph, f"missing from Neo4j: {sorted(set(pg) - graph)}"
    assert not graph & set(absent), f"still in Neo4j: {sorted(graph & set(absent))}"
    assert set(Document.objects.values_list("status", flat=True)) <= {"complete"}
    return pg


def graph_snapshot(driver, database) -> tuple:
    """This test's Document nodes with their `updated` stamps and mentions: any write to them changes it."""
    ids = sorted(pg_state())
    records = driver.execute_query(
        "MATCH (d:Document) WHERE d.document_id IN $ids OPTIONAL MATCH (d)-[m:MENTIONS]->(c:Concept) "
        "WITH d, m, c ORDER BY c.name "
        "RETURN d.document_id AS id, d.updated AS updated, collect([c.name, m.count]) AS mentions ORDER BY id",
        ids=ids, database_=database).records
    return [tuple(r.values()) for r in records]


def own_drift(report) -> dict:
    """The drift a reconcile report found, minus Neo4j documents of other users of the shared graph."""
    found = report.as_dict()
    for key in ("orphan_neo4j_documents", "drift_found", "documents", "dry_run"):
        found.pop(key)
    return {key: value for key, value in found.items() if value}

"""Namespaces and a graph that is a function of the documents, through ingestion on the real engines.

A second deployment ("B") shares the Neo4j and Milvus servers with the one under test ("A"): its own
namespace and collection. (Its PostgreSQL is another database of the same server, which Django never opens
here.) Whatever A does must leave B's data byte-for-byte unchanged.
"""

import pytest

from graphstore import client as graph_client
from graphstore import selectors as graph_selectors
from graphstore import services as graph_services
from graphstore.tests.conftest import dump_namespace
from ingestion import store_sync
from ingestion.deletion import delete_document
from ingestion.reconcile import reconcile
from ingestion.services import ingest_paths
from ingestion.tests.support import assert_stores_agree, corpus, stores  # noqa: F401 (fixtures)
from rag_data.models import Document
from tests.fixtures import wipe_graph_namespace
from vectorstore import client as vector_client
from vectorstore import services as vector_services

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SHARED_A = """# Graph search

Graph expansion walks the knowledge graph. Vector search finds the seeds; graph expansion adds the
neighbours. The knowledge graph stores concepts, and vector search ranks chunks.
"""
SHARED_B = """# Knowledge graph notes

The knowledge graph links concepts. Vector search and graph expansion meet in hybrid retrieval; the
knowledge graph keeps graph expansion cheap while vector search stays exact.
"""


def _milvus_dump(collection: str) -> list:
    rows = vector_client.call("query", collection, filter='chunk_id != ""',
                              output_fields=["chunk_id", "document_id", "embedding", "metadata"],
                              consistency_level="Strong", limit=1000)
    return sorted(repr(sorted((k, [round(x, 6) for x in v] if k == "embedding" else v) for k, v in row.items()))
                  for row in rows)


@pytest.fixture
def other_deployment(stores, settings):
    """Deployment B: two documents in its own namespace and collection, written by the same services."""
    mine = (settings.RAG_NAMESPACE, settings.MILVUS_COLLECTION)
    theirs = (mine[0] + "-b", mine[1] + "_b")
    settings.RAG_NAMESPACE, settings.MILVUS_COLLECTION = theirs
    try:
        vector_services.ensure_collection()
        for n, text in enumerate((SHARED_A, SHARED_B)):  # the same texts, even the same ids, as A will ingest
            document = Document(document_id=f"shared-{n}", title=f"B {n}", source_path=f"b{n}.md",
                                content_hash=f"h{n}")
            store_sync.write_neo4j(document, [text])
            vector_services.upsert_chunks([{"chunk_id": f"b-{n}", "document_id": document.document_id,
                                            "embedding": [0.1 * (n + 1)] * settings.EMBEDDING_DIM,
                                            "metadata": {"source": f"b{n}.md"}}])
        settings.RAG_NAMESPACE, settings.MILVUS_COLLECTION = mine
        yield theirs
    finally:
        settings.RAG_NAMESPACE, settings.MILVUS_COLLECTION = theirs
        try:
            wipe_graph_namespace(graph_client.get_driver(), settings.NEO4J_DATABASE, theirs[0])
            if vector_client.get_client().has_collection(theirs[1]):
                vector_client.get_client().drop_collection(theirs[1])
        finally:
            settings.RAG_NAMESPACE, settings.MILVUS_COLLECTION = mine


def test_ingest_reconcile_delete_and_clean_up_leave_another_deployment_unchanged(
        other_deployment, corpus, tmp_path, settings, neo4j_store):
    namespace_b, collection_b = other_deployment
    database = settings.NEO4J_DATABASE
    before = dump_namespace(neo4j_store, database, namespace_b), _milvus_dump(collection_b)
    assert len(before[0]) > 10 and len(before[1]) == 2

    (corpus / "shared-a.md").write_text(SHARED_A)
    (corpus / "shared-b.md").write_text(SHARED_B)
    graph_services.install_constraints()  # what init_stores does
    report = ingest_paths([corpus])
    assert len(report.created) == 6 and not report.failed
    graph_services.write_document("ghost", None, None, None, {"knowledge graph": 1}, [])  # an orphan of A's
    dry = reconcile(dry_run=True)
    assert dry.orphan_neo4j_documents == ["ghost"]  # B's documents are not A's orphans
    reconcile()
    delete_document(Document.objects.get(source_path__endswith="/shared-a.md").document_id)
    again = reconcile()
    assert not again.drift_found, again.as_dict()
    assert_stores_agree()
    wipe_graph_namespace(neo4j_store, database, settings.RAG_NAMESPACE)  # the test clean-up, as the fixture does

    assert (dump_namespace(neo4j_store, database, namespace_b), _milvus_dump(collection_b)) == before


def test_ingest_a_and_b_then_delete_a_equals_b_alone(stores, tmp_path, settings, neo4j_store):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "a.md").write_text(SHARED_A)
    (root / "b.md").write_text(SHARED_B)
    ingest_paths([root])
    a, b = (Document.objects.get(source_path__endswith="/" + name) for name in ("a.md", "b.md"))
    shared = {c["name"] for c in graph_selectors.concepts_for_documents([a.document_id])[a.document_id]} & {
        c["name"] for c in graph_selectors.concepts_for_documents([b.document_id])[b.document_id]}
    assert len(shared) >= 2, shared  # they really share concepts (and so edges)
    delete_document(a.document_id)
    incremental = dump_namespace(neo4j_store, settings.NEO4J_DATABASE, settings.RAG_NAMESPACE, timestamps=False)

    wipe_graph_namespace(neo4j_store, settings.NEO4J_DATABASE, settings.RAG_NAMESPACE)
    store_sync.write_neo4j(b, [chunk.text for chunk in b.chunks.order_by("ordinal")])  # B alone, freshly
    fresh = dump_namespace(neo4j_store, settings.NEO4J_DATABASE, settings.RAG_NAMESPACE, timestamps=False)
    assert incremental == fresh
    assert any("RELATED_TO" in line for line in fresh)


def test_reconcile_finds_and_repairs_graph_facts_no_document_supports(stores, corpus, settings, neo4j_store):
    (corpus / "shared-a.md").write_text(SHARED_A)
    (corpus / "shared-b.md").write_text(SHARED_B)
    ingest_paths([corpus])
    database, namespace = settings.NEO4J_DATABASE, settings.RAG_NAMESPACE
    healthy = dump_namespace(neo4j_store, database, namespace, timestamps=False)
    real_edge = neo4j_store.execute_query(
        "MATCH (a:Concept {namespace: $ns})-[r:RELATED_TO]->(b) WHERE size(r.docs) = 2 "
        "RETURN a.name AS a, b.name AS b ORDER BY a, b LIMIT 1", ns=namespace, database_=database).records[0]
    neo4j_store.execute_query(
        """
        MATCH (a:Concept {namespace: $ns, name: $a})-[r:RELATED_TO]->(b:Concept {namespace: $ns, name: $b})
        SET r.docs = r.docs + ['zz-deleted-long-ago'], r.doc_weights = r.doc_weights + [7.0], r.weight = r.weight + 7
        WITH a
        MATCH (x:Concept {namespace: $ns}) WHERE x.name <> a.name WITH a, x LIMIT 1
        CREATE (lonely:Concept {namespace: $ns, name: 'nobody mentions me'})
        MERGE (a)-[:RELATED_TO {docs: ['ghost'], doc_weights: [1.0], weight: 1.0}]->(lonely)
        """, ns=namespace, a=real_edge["a"], b=real_edge["b"], database_=database)

    dry = reconcile(dry_run=True)
    assert dry.unsupported_graph_edges == sorted([[real_edge["a"], real_edge["b"]],
                                                  sorted([real_edge["a"], "nobody mentions me"])])
    assert dry.unmentioned_concepts == ["nobody mentions me"]
    assert len(dry.stale_in_neo4j) == 2 and dry.drift_found  # the two documents behind the tampered edge
    assert dry.as_dict()["unsupported_graph_edges"] == dry.unsupported_graph_edges

    report = reconcile()
    assert sorted(report.repaired) == dry.stale_in_neo4j and not report.failed
    assert dump_namespace(neo4j_store, database, namespace, timestamps=False) == healthy
    assert not reconcile(dry_run=True).drift_found

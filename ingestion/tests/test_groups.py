"""Grouped ingestion on the real engines: a group writes what file-by-file writing would, and an outage in the
middle of a group leaves every document of the group for reconcile to finish."""

import pytest
from django.conf import settings as django_settings

from graphstore import client as graph_client
from ingestion.deletion import delete_document
from ingestion.reconcile import reconcile
from ingestion.services import ingest_paths
from ingestion.tests.support import (  # noqa: F401 (fixtures)
    assert_stores_agree,
    corpus,
    milvus_state,
    neo4j_documents,
    outage_stores,
    pg_state,
    stores,
)
from rag_data.models import Document

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

EXTRA = {
    "more/fusion.md": "# Fusion\n\nReciprocal rank fusion combines keyword search and vector search rankings. "
                      "Keyword search and vector search both feed reciprocal rank fusion.\n",
    "more/graph.txt": "Knowledge graph concepts relate through co-occurrence. A knowledge graph with vector "
                      "search and keyword search gives hybrid retrieval.\n",
}


def _graph() -> tuple:
    """The namespace's mentions and RELATED_TO edges with their per-document contributions."""
    namespace = django_settings.RAG_NAMESPACE
    mentions = graph_client.read(
        "MATCH (d:Document {namespace: $namespace})-[m:MENTIONS]->(c:Concept) "
        "RETURN d.document_id AS d, c.name AS c, m.count AS n ORDER BY d, c", namespace=namespace).records
    edges = graph_client.read(
        "MATCH (a:Concept {namespace: $namespace})-[r:RELATED_TO]->(b:Concept) "
        "RETURN a.name AS a, b.name AS b, r.docs AS docs, r.doc_weights AS weights, r.weight AS weight "
        "ORDER BY a, b", namespace=namespace).records
    concepts = graph_client.read("MATCH (c:Concept {namespace: $namespace}) RETURN c.name AS c ORDER BY c",
                                 namespace=namespace).records
    return ([tuple(r.values()) for r in mentions], [tuple(r.values()) for r in edges],
            [r["c"] for r in concepts])


def _add_extra(corpus):
    for name, text in EXTRA.items():
        (corpus / name).parent.mkdir(parents=True, exist_ok=True)
        (corpus / name).write_text(text)


def _delete_all():
    for document_id in list(Document.objects.values_list("document_id", flat=True)):
        delete_document(document_id)


def test_a_group_writes_the_graph_that_file_by_file_writing_does(stores, corpus, settings):
    _add_extra(corpus)
    settings.INGEST_GROUP_SIZE = 1
    assert ingest_paths([corpus]).counts()["created"] == 6
    one_by_one = _graph()
    assert one_by_one[1], "the corpus should relate concepts"
    _delete_all()
    assert _graph() == ([], [], [])

    settings.INGEST_GROUP_SIZE = 64
    assert ingest_paths([corpus]).counts()["created"] == 6
    assert _graph() == one_by_one
    assert_stores_agree()

    # A rewrite of some documents of a group replaces exactly their contributions.
    (corpus / "guide.md").write_text("# Guide\n\nKeyword search and knowledge graph expansion, nothing else. "
                                     "Keyword search again.\n")
    (corpus / "more" / "graph.txt").unlink()
    (corpus / "more" / "other.txt").write_text("Reciprocal rank fusion and the knowledge graph.\n")
    grouped = ingest_paths([corpus])
    assert grouped.counts()["updated"] == 1 and grouped.counts()["created"] == 1
    delete_document(Document.objects.get(source_path="corpus/more/graph.txt").document_id)
    rewritten = _graph()
    _delete_all()
    settings.INGEST_GROUP_SIZE = 1
    ingest_paths([corpus])
    assert rewritten == _graph()
    assert not reconcile(dry_run=True).unsupported_graph_edges


def test_an_outage_mid_group_leaves_the_whole_group_for_reconcile(outage_stores, corpus, settings):
    settings.INGEST_GROUP_SIZE = 2
    report = ingest_paths([corpus], progress=lambda done, total, path: done == 2 and outage_stores.start())
    assert len(report.created) == 2 and len(report.failed) == 2
    assert all(row["reason"].startswith("Neo4j: ") for row in report.failed)
    failed = Document.objects.exclude(status="complete")
    assert len(failed) == 2 and {d.status for d in failed} == {"failed"}
    assert all(d.in_postgres and d.in_milvus and not d.in_neo4j for d in failed)
    outage_stores.end()
    assert not neo4j_documents() & {d.document_id for d in failed}
    fixed = reconcile()
    assert sorted(fixed.repaired) == sorted(d.document_id for d in failed) and not fixed.failed
    assert_stores_agree()
    again = ingest_paths([corpus])
    assert again.counts()["unchanged"] == 4

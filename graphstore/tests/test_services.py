"""Writes against the real Neo4j: constraints, idempotent upserts and links, deletes, hostile names."""

import pytest
from neo4j.exceptions import ConstraintError

from graphstore import selectors, services
from graphstore.tests.conftest import count_graph, drop_expected_constraints

pytestmark = pytest.mark.integration

EXPECTED = ["constraint_unique_Concept_name", "constraint_unique_Document_document_id"]
HOSTILE = "x'}) DETACH DELETE n //"


def test_install_constraints_creates_then_reports_existing(neo4j_store, settings):
    drop_expected_constraints(neo4j_store, settings.NEO4J_DATABASE)
    assert selectors.constraint_status() == {"present": [], "missing": EXPECTED, "ok": False}
    assert services.install_constraints() == {"created": EXPECTED, "existing": []}
    assert services.install_constraints() == {"created": [], "existing": EXPECTED}
    assert selectors.constraint_status() == {"present": EXPECTED, "missing": [], "ok": True}


@pytest.mark.parametrize(
    "create",
    [
        "CREATE (:Concept {name: 'graph'})",
        "CREATE (:Document {document_id: 'doc-1'})",
    ],
)
def test_unique_constraints_reject_duplicates(graph, settings, create):
    graph.execute_query(create, database_=settings.NEO4J_DATABASE)
    with pytest.raises(ConstraintError):
        graph.execute_query(create, database_=settings.NEO4J_DATABASE)


def _populate():
    services.upsert_document("doc-1", "Graphs", "docs/graphs.md", "hash-1")
    services.upsert_document("doc-2", "Vectors", "docs/vectors.md", "hash-2")
    services.link_document_concepts("doc-1", {"graph": 3, "retrieval": 1})
    services.link_document_concepts("doc-2", {"embedding": 2, "retrieval": 4})
    services.relate_concepts([("graph", "embedding", 0.5), ("retrieval", "graph", 2.0)])


def test_writes_are_idempotent(graph, settings):
    _populate()
    first = count_graph(graph, settings.NEO4J_DATABASE)
    snapshot = selectors.concepts_for_documents(["doc-1", "doc-2"])
    _populate()
    assert count_graph(graph, settings.NEO4J_DATABASE) == first == (5, 4, 2)
    assert selectors.concepts_for_documents(["doc-1", "doc-2"]) == snapshot
    assert snapshot["doc-2"] == [{"name": "retrieval", "count": 4}, {"name": "embedding", "count": 2}]


def test_upsert_document_reports_creation_and_updates_fields(graph, settings):
    assert services.upsert_document("doc-1", "Old", "a.md", "h1") is True
    assert services.upsert_document("doc-1", "New", "b.md", "h2") is False
    record = graph.execute_query("MATCH (d:Document) RETURN d", database_=settings.NEO4J_DATABASE).records[0]["d"]
    assert (record["title"], record["source"], record["content_hash"]) == ("New", "b.md", "h2")
    assert record["created"] <= record["updated"]


def test_relate_is_undirected_stored_once_smaller_name_first_and_weight_is_set(graph, settings):
    services.relate_concepts([("graph", "embedding", 0.5)])
    services.relate_concepts([("embedding", "graph", 0.9)])
    rows = graph.execute_query(
        "MATCH (a:Concept)-[r:RELATED_TO]->(b:Concept) RETURN a.name AS a, b.name AS b, r.weight AS w",
        database_=settings.NEO4J_DATABASE,
    ).records
    assert [(r["a"], r["b"], r["w"]) for r in rows] == [("embedding", "graph", 0.9)]
    assert selectors.neighbour_concepts("graph") == [{"name": "embedding", "weight": 0.9}]


def test_link_replace_drops_mentions_not_listed(graph):
    services.upsert_document("doc-1", None, None, None)
    services.link_document_concepts("doc-1", {"a": 1, "b": 1})
    assert services.link_document_concepts("doc-1", {"b": 5}, replace=True) == 1
    assert selectors.concepts_for_documents(["doc-1"]) == {"doc-1": [{"name": "b", "count": 5}]}
    assert services.link_document_concepts("doc-1", {}, replace=True) == 0
    assert selectors.concepts_for_documents(["doc-1"]) == {"doc-1": []}


def test_link_to_missing_document_raises_and_writes_nothing(graph, settings):
    with pytest.raises(LookupError, match="no Document with document_id 'ghost'"):
        services.link_document_concepts("ghost", {"a": 1})
    with pytest.raises(LookupError):
        services.link_document_concepts("ghost", {})
    assert count_graph(graph, settings.NEO4J_DATABASE) == (0, 0, 0)


def test_delete_document_removes_only_concepts_nobody_else_mentions(graph, settings):
    _populate()
    services.relate_concepts([("standalone", "other standalone", 1.0)])
    assert services.delete_document("doc-1") == {"deleted": True, "concepts_removed": 1}  # "graph"
    assert selectors.document_ids() == ["doc-2"]
    names = {r["name"] for r in graph.execute_query("MATCH (c:Concept) RETURN c.name AS name", database_=settings.NEO4J_DATABASE).records}
    assert names == {"retrieval", "embedding", "standalone", "other standalone"}
    assert services.delete_document("doc-1") == {"deleted": False, "concepts_removed": 0}


def test_cypher_looking_name_is_stored_verbatim_and_deletes_nothing(graph, settings):
    _populate()
    before = count_graph(graph, settings.NEO4J_DATABASE)
    services.upsert_document("doc-3", HOSTILE, HOSTILE, HOSTILE)
    services.link_document_concepts("doc-3", {HOSTILE: 1})
    services.relate_concepts([(HOSTILE, "graph", 1.0)])
    assert count_graph(graph, settings.NEO4J_DATABASE) == (before[0] + 2, before[1] + 1, before[2] + 1)
    assert selectors.concepts_for_documents(["doc-3"]) == {"doc-3": [{"name": HOSTILE, "count": 1}]}
    assert [d["document_id"] for d in selectors.documents_for_concepts([HOSTILE])] == ["doc-3"]
    assert services.delete_document("doc-3") == {"deleted": True, "concepts_removed": 1}
    assert count_graph(graph, settings.NEO4J_DATABASE) == before

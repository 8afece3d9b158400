"""Upgrading a graph written before namespaces, on the real Neo4j: install_constraints drops the old
single-property constraints and adopts un-namespaced nodes into the namespace, idempotently."""

import uuid

import pytest
from neo4j.exceptions import Neo4jError

from graphstore import selectors, services
from graphstore.schema import LEGACY_CONSTRAINTS

pytestmark = pytest.mark.integration


@pytest.fixture
def legacy_graph(graph, settings):
    """An old-style document, two concepts and their edge, without namespace (names unique to this test)."""
    tag = uuid.uuid4().hex[:8]
    names = {"doc": f"legacy-doc-{tag}", "a": f"legacy a {tag}", "b": f"legacy b {tag}", "taken": f"taken {tag}"}
    database = settings.NEO4J_DATABASE
    graph.execute_query(
        """
        CREATE (d:Document {document_id: $doc, title: 'old'})-[:MENTIONS {count: 1}]->(a:Concept {name: $a}),
               (d)-[:MENTIONS {count: 2}]->(b:Concept {name: $b}), (a)-[:RELATED_TO {weight: 3.0}]->(b),
               (:Concept {name: $taken})
        """, database_=database, **names)
    services.write_document("owner", None, None, None, {names["taken"]: 1})  # the namespace already holds it
    yield names
    graph.execute_query("MATCH (n) WHERE (n:Document OR n:Concept) AND n.namespace IS NULL "
                        "AND (n.document_id = $doc OR n.name IN [$a, $b, $taken]) DETACH DELETE n",
                        database_=database, **names)


def test_install_constraints_adopts_legacy_nodes_and_drops_legacy_constraints(legacy_graph, graph, settings):
    database = settings.NEO4J_DATABASE
    legacy = LEGACY_CONSTRAINTS[1]  # Document(document_id): ids are unique on this server while the test runs
    try:
        graph.execute_query(legacy.create_cypher(), database_=database)
        created_legacy = True
    except Neo4jError:  # a shared server whose namespaces already repeat a document id: cannot exist any more
        created_legacy = False
    if created_legacy:
        assert selectors.constraint_status()["legacy"] == [legacy.name]
        assert not selectors.constraint_status()["ok"]

    report = services.install_constraints()
    assert report["dropped"] == ([legacy.name] if created_legacy else [])
    assert (report["adopted"], report["not_adopted"]) == (3, 1)  # the document and two concepts; not "taken"
    status = selectors.constraint_status()
    assert status["ok"] and status["legacy"] == []
    assert selectors.document_ids() == sorted([legacy_graph["doc"], "owner"])
    assert selectors.concepts_for_documents([legacy_graph["doc"]])[legacy_graph["doc"]] == [
        {"name": legacy_graph["b"], "count": 2}, {"name": legacy_graph["a"], "count": 1}]
    # Adopted but written by the old format: reconcile rewrites the document and replaces the old edge.
    assert selectors.outdated_document_ids() == [legacy_graph["doc"]]
    assert selectors.unsupported_edges() == [[legacy_graph["a"], legacy_graph["b"]]]

    again = services.install_constraints()
    assert (again["dropped"], again["adopted"], again["not_adopted"], again["created"]) == ([], 0, 1, [])

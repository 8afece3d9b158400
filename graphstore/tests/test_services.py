"""Writes against the real Neo4j: constraints, idempotent upserts and links, deletes, hostile names."""

import pytest
from neo4j.exceptions import ConstraintError

from graphstore import selectors, services
from graphstore.tests.conftest import count_graph, drop_expected_constraints

pytestmark = pytest.mark.integration

EXPECTED = ["constraint_unique_Concept_namespace_name", "constraint_unique_Document_namespace_document_id"]
HOSTILE = "x'}) DETACH DELETE n //"


def test_install_constraints_creates_then_reports_existing(neo4j_store, settings):
    drop_expected_constraints(neo4j_store, settings.NEO4J_DATABASE)
    assert selectors.constraint_status() == {"present": [], "missing": EXPECTED, "legacy": [], "ok": False}
    first = services.install_constraints()
    assert (first["created"], first["existing"], first["dropped"], first["adopted"]) == (EXPECTED, [], [], 0)
    again = services.install_constraints()
    assert (again["created"], again["existing"], again["dropped"], again["adopted"]) == ([], EXPECTED, [], 0)
    assert selectors.constraint_status() == {"present": EXPECTED, "missing": [], "legacy": [], "ok": True}


@pytest.mark.parametrize(
    "create",
    [
        "CREATE (:Concept {namespace: $namespace, name: 'graph'})",
        "CREATE (:Document {namespace: $namespace, document_id: 'doc-1'})",
    ],
)
def test_unique_constraints_reject_duplicates_within_a_namespace_only(graph, settings, create):
    graph.execute_query(create, namespace=settings.RAG_NAMESPACE, database_=settings.NEO4J_DATABASE)
    with pytest.raises(ConstraintError):
        graph.execute_query(create, namespace=settings.RAG_NAMESPACE, database_=settings.NEO4J_DATABASE)
    other = settings.RAG_NAMESPACE + "-other"
    try:  # the same identity in another namespace is another node
        graph.execute_query(create, namespace=other, database_=settings.NEO4J_DATABASE)
    finally:
        graph.execute_query("MATCH (n {namespace: $namespace}) DETACH DELETE n", namespace=other,
                            database_=settings.NEO4J_DATABASE)


def _populate():
    services.write_document("doc-1", "Graphs", "docs/graphs.md", "hash-1", {"graph": 3, "retrieval": 1},
                            [("retrieval", "graph", 2)])
    services.write_document("doc-2", "Vectors", "docs/vectors.md", "hash-2", {"embedding": 2, "retrieval": 4},
                            [("embedding", "retrieval", 1)])


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
    record = graph.execute_query("MATCH (d:Document {namespace: $ns}) RETURN d", ns=settings.RAG_NAMESPACE,
                                 database_=settings.NEO4J_DATABASE).records[0]["d"]
    assert (record["title"], record["source"], record["content_hash"]) == ("New", "b.md", "h2")
    assert record["created"] <= record["updated"]


def _edges(graph, settings):
    rows = graph.execute_query(
        "MATCH (a:Concept {namespace: $ns})-[r:RELATED_TO]->(b:Concept) "
        "RETURN a.name AS a, b.name AS b, r.weight AS w, r.docs AS docs, r.doc_weights AS dw ORDER BY a, b",
        ns=settings.RAG_NAMESPACE, database_=settings.NEO4J_DATABASE,
    ).records
    return [(r["a"], r["b"], r["w"], r["docs"], r["dw"]) for r in rows]


def test_relate_is_undirected_stored_once_and_a_documents_share_is_set(graph, settings):
    services.upsert_document("doc-1", None, None, None)
    services.link_document_concepts("doc-1", {"graph": 1, "embedding": 1})
    services.relate_concepts("doc-1", [("graph", "embedding", 0.5)])
    services.relate_concepts("doc-1", [("embedding", "graph", 0.9)])
    assert _edges(graph, settings) == [("embedding", "graph", 0.9, ["doc-1"], [0.9])]
    assert selectors.neighbour_concepts("graph") == [{"name": "embedding", "weight": 0.9}]


def test_edge_weight_is_the_sum_of_its_documents_shares(graph, settings):
    for doc, weight in (("doc-b", 2), ("doc-a", 3), ("doc-c", 1)):
        services.write_document(doc, None, None, None, {"graph": 1, "embedding": 1}, [("graph", "embedding", weight)])
    assert _edges(graph, settings) == [("embedding", "graph", 6.0, ["doc-a", "doc-b", "doc-c"], [3.0, 2.0, 1.0])]
    services.write_document("doc-b", None, None, None, {"graph": 1, "embedding": 1}, [("graph", "embedding", 5)])
    assert _edges(graph, settings) == [("embedding", "graph", 9.0, ["doc-a", "doc-b", "doc-c"], [3.0, 5.0, 1.0])]
    services.write_document("doc-a", None, None, None, {"graph": 1}, [])  # no longer mentions "embedding"
    assert _edges(graph, settings) == [("embedding", "graph", 6.0, ["doc-b", "doc-c"], [5.0, 1.0])]
    services.delete_document("doc-b")
    services.delete_document("doc-c")
    assert _edges(graph, settings) == []  # no contributor left: the edge is gone
    assert selectors.concepts_for_documents(["doc-a"]) == {"doc-a": [{"name": "graph", "count": 1}]}
    assert count_graph(graph, settings.NEO4J_DATABASE) == (2, 1, 0)  # "embedding", mentioned by nobody, is gone


def test_relate_needs_the_document_to_mention_both_concepts(graph, settings):
    services.upsert_document("doc-1", None, None, None)
    services.link_document_concepts("doc-1", {"graph": 1})
    with pytest.raises(ValueError, match="relates 'embedding' but does not mention it"):
        services.relate_concepts("doc-1", [("graph", "embedding", 1.0)])
    with pytest.raises(LookupError):
        services.relate_concepts("ghost", [("graph", "embedding", 1.0)])
    with pytest.raises(ValueError, match="does not mention"):
        services.write_document("doc-1", None, None, None, {"graph": 1}, [("graph", "embedding", 1)])
    assert _edges(graph, settings) == []


def test_link_replace_drops_mentions_not_listed_and_concepts_nobody_mentions(graph, settings):
    services.upsert_document("doc-1", None, None, None)
    services.link_document_concepts("doc-1", {"a": 1, "b": 1})
    services.relate_concepts("doc-1", [("a", "b", 1)])
    assert services.link_document_concepts("doc-1", {"b": 5}, replace=True) == 1
    assert selectors.concepts_for_documents(["doc-1"]) == {"doc-1": [{"name": "b", "count": 5}]}
    assert _edges(graph, settings) == []  # its share of a--b went with its mention of "a"
    assert services.link_document_concepts("doc-1", {}, replace=True) == 0
    assert selectors.concepts_for_documents(["doc-1"]) == {"doc-1": []}
    assert count_graph(graph, settings.NEO4J_DATABASE) == (1, 0, 0)


def test_link_to_missing_document_raises_and_writes_nothing(graph, settings):
    with pytest.raises(LookupError, match="no Document with document_id 'ghost'"):
        services.link_document_concepts("ghost", {"a": 1})
    with pytest.raises(LookupError):
        services.link_document_concepts("ghost", {})
    assert count_graph(graph, settings.NEO4J_DATABASE) == (0, 0, 0)


def test_delete_document_removes_exactly_its_contribution(graph, settings):
    _populate()
    assert services.delete_document("doc-1") == {"deleted": True, "concepts_removed": 1}  # "graph"
    assert selectors.document_ids() == ["doc-2"]
    names = {r["name"] for r in graph.execute_query(
        "MATCH (c:Concept {namespace: $ns}) RETURN c.name AS name", ns=settings.RAG_NAMESPACE,
        database_=settings.NEO4J_DATABASE).records}
    assert names == {"retrieval", "embedding"}
    assert _edges(graph, settings) == [("embedding", "retrieval", 1.0, ["doc-2"], [1.0])]
    assert services.delete_document("doc-1") == {"deleted": False, "concepts_removed": 0}


def test_cypher_looking_name_is_stored_verbatim_and_deletes_nothing(graph, settings):
    _populate()
    before = count_graph(graph, settings.NEO4J_DATABASE)
    services.write_document("doc-3", HOSTILE, HOSTILE, HOSTILE, {HOSTILE: 1, "graph": 1}, [(HOSTILE, "graph", 1)])
    assert count_graph(graph, settings.NEO4J_DATABASE) == (before[0] + 2, before[1] + 2, before[2] + 1)
    assert selectors.concepts_for_documents(["doc-3"]) == {"doc-3": [{"name": "graph", "count": 1},
                                                                      {"name": HOSTILE, "count": 1}]}
    assert [d["document_id"] for d in selectors.documents_for_concepts([HOSTILE])] == ["doc-3"]
    assert services.delete_document("doc-3") == {"deleted": True, "concepts_removed": 1}
    assert count_graph(graph, settings.NEO4J_DATABASE) == before


def test_wipe_namespace_removes_only_this_namespace(graph, settings):
    _populate()
    mine = settings.RAG_NAMESPACE
    settings.RAG_NAMESPACE = mine + "-neighbour"
    try:
        _populate()
        settings.RAG_NAMESPACE = mine
        assert services.wipe_namespace() == 5
        assert count_graph(graph, settings.NEO4J_DATABASE) == (0, 0, 0)
        assert count_graph(graph, settings.NEO4J_DATABASE, mine + "-neighbour") == (5, 4, 2)
    finally:
        settings.RAG_NAMESPACE = mine + "-neighbour"
        services.wipe_namespace()
        settings.RAG_NAMESPACE = mine

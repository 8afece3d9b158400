"""Reads against the real Neo4j."""

import pytest

from graphstore import selectors, services

pytestmark = pytest.mark.integration


@pytest.fixture
def library(graph, settings):
    """a mentions "neural networks"; b only the RELATED_TO neighbour "deep learning"; c shares a concept
    with a directly; d is two RELATED_TO steps away; e is unrelated.

    The edges are written raw: the services only write edges some document's co-occurrence supports, and
    such a document would itself be found at distance 0. These tests are about the reads."""
    for doc in "abcde":
        services.upsert_document(doc, f"Doc {doc}", f"docs/{doc}.md", f"hash-{doc}")
    services.link_document_concepts("a", {"neural networks": 2, "training": 1})
    services.link_document_concepts("b", {"deep learning": 3})
    services.link_document_concepts("c", {"training": 1})
    services.link_document_concepts("d", {"gpus": 1})
    services.link_document_concepts("e", {"cooking": 5})
    graph.execute_query(
        """
        UNWIND $edges AS edge
        MATCH (a:Concept {namespace: $namespace, name: edge[0]}), (b:Concept {namespace: $namespace, name: edge[1]})
        CREATE (a)-[:RELATED_TO {weight: edge[2]}]->(b)
        """,
        edges=[["deep learning", "neural networks", 0.8], ["deep learning", "gpus", 0.4]],
        namespace=settings.RAG_NAMESPACE, database_=settings.NEO4J_DATABASE)
    return graph


def test_related_documents_reaches_a_document_through_a_related_concept(library):
    found = selectors.related_documents(["a"], hops=1)
    assert [d["document_id"] for d in found] == ["b", "c"]
    b = found[0]
    assert b["via"] == ["deep learning"] and b["score"] == pytest.approx(3 / 2)
    assert b["title"] == "Doc b" and b["source"] == "docs/b.md"
    assert found[1]["via"] == ["training"] and found[1]["score"] == pytest.approx(1.0)


def test_related_documents_hops_widen_the_search_and_exclude_the_start(library):
    assert [d["document_id"] for d in selectors.related_documents(["a"], hops=2)] == ["b", "c", "d"]
    assert [d["document_id"] for d in selectors.related_documents(["a", "b"], hops=3)] == ["c", "d"]
    assert selectors.related_documents(["a"], hops=3, limit=1)[0]["document_id"] == "b"
    assert selectors.related_documents(["e"], hops=3) == []
    assert selectors.related_documents(["missing"]) == []
    with pytest.raises(ValueError):
        selectors.related_documents(["a"], hops=4)


def test_documents_for_concepts_ranks_by_mentions(library):
    found = selectors.documents_for_concepts(["training", "deep learning", "nope"])
    assert [(d["document_id"], d["score"]) for d in found] == [("b", 3), ("a", 1), ("c", 1)]
    assert selectors.documents_for_concepts([]) == []


def test_concepts_for_documents_and_document_ids(library):
    assert selectors.concepts_for_documents(["a", "missing"]) == {
        "a": [{"name": "neural networks", "count": 2}, {"name": "training", "count": 1}]
    }
    assert selectors.document_ids() == ["a", "b", "c", "d", "e"]
    assert selectors.document_exists("a") and not selectors.document_exists("z")


def test_reads_never_leave_the_namespace(library, settings):
    """A second namespace with the same ids and concepts, linked more strongly: invisible to every read."""
    mine = settings.RAG_NAMESPACE
    settings.RAG_NAMESPACE = mine + "-other"
    try:
        for doc in ("a", "x"):
            services.upsert_document(doc, f"Other {doc}", None, None)
        services.write_document("a", "Other a", None, None, {"neural networks": 9, "cooking": 9},
                                [("neural networks", "cooking", 9)])
        services.write_document("x", "Other x", None, None, {"neural networks": 9, "training": 9, "gpus": 9},
                                [("neural networks", "gpus", 9)])
        assert [d["document_id"] for d in selectors.related_documents(["a"], hops=1)] == ["x"]
    finally:
        settings.RAG_NAMESPACE = mine
    assert [d["document_id"] for d in selectors.related_documents(["a"], hops=1)] == ["b", "c"]
    assert [d["document_id"] for d in selectors.related_documents(["a"], hops=3)] == ["b", "c", "d"]
    assert [d["document_id"] for d in selectors.documents_for_concepts(["neural networks", "gpus"])] == ["a", "d"]
    assert selectors.concepts_for_documents(["a", "x"])["a"][0] == {"name": "neural networks", "count": 2}
    assert "x" not in selectors.concepts_for_documents(["x"])
    assert selectors.neighbour_concepts("neural networks") == [{"name": "deep learning", "weight": 0.8}]
    assert selectors.document_ids() == ["a", "b", "c", "d", "e"] and not selectors.document_exists("x")
    # The other namespace's "a" mentions "neural networks" 9 times and "x" mentions "gpus": neither is found here.
    found = selectors.documents_for_query_concepts(["neural networks", "gpus", "cooking"], documents=5)
    assert sorted(d["document_id"] for d in found) == ["a", "d", "e"]
    assert next(d for d in found if d["document_id"] == "a")["via"] == ["neural networks"]
    settings.RAG_NAMESPACE = mine + "-other"
    services.wipe_namespace()
    settings.RAG_NAMESPACE = mine


def test_documents_for_query_concepts_weighs_rare_concepts_up(library):
    import math

    services.link_document_concepts("e", {"cooking": 5, "training": 1})
    # "training" is mentioned by a, c and e, "cooking" by e only: idf = ln(1 + documents / (1 + df)).
    found = selectors.documents_for_query_concepts(["training", "cooking", "not a concept"], documents=5)
    assert [d["document_id"] for d in found] == ["e", "a", "c"]
    idf_training, idf_cooking = math.log(1 + 5 / 4), math.log(1 + 5 / 2)
    assert found[0]["score"] == pytest.approx(idf_cooking * (1 + math.log(5)) + idf_training)
    assert sorted(found[0]["via"]) == ["cooking", "training"]
    assert found[1]["score"] == pytest.approx(idf_training) and found[1]["via"] == ["training"]
    assert [d["document_id"] for d in selectors.documents_for_query_concepts(["training"], 5, limit=1)] == ["a"]
    assert selectors.documents_for_query_concepts([], documents=5) == []
    assert selectors.documents_for_query_concepts(["nothing here"], documents=5) == []


def test_documents_for_query_concepts_skips_a_concept_most_documents_mention(library):
    """Skipped: mentioned by more than max(per_concept, max_share x documents) documents ("training": a, c and e)."""
    services.link_document_concepts("e", {"cooking": 5, "training": 1})
    found = selectors.documents_for_query_concepts(["training", "cooking"], documents=5, per_concept=1)
    assert [(d["document_id"], d["via"]) for d in found] == [("e", ["cooking"])]  # 3 > max(1, 0.25 x 5)
    # Kept below the share; per_concept still bounds what it gives: its one most-mentioning document (ties by id).
    found = selectors.documents_for_query_concepts(["training", "cooking"], documents=5, per_concept=1, max_share=0.6)
    assert [(d["document_id"], d["via"]) for d in found] == [("e", ["cooking"]), ("a", ["training"])]
    # Mentioned by no more than per_concept documents: kept whatever the share (a small namespace).
    found = selectors.documents_for_query_concepts(["training", "cooking"], documents=5, per_concept=3)
    assert [d["document_id"] for d in found] == ["e", "a", "c"] and sorted(found[0]["via"]) == ["cooking", "training"]

"""Reads against the real Neo4j."""

import pytest

from graphstore import selectors, services

pytestmark = pytest.mark.integration


@pytest.fixture
def library(graph):
    """a mentions "neural networks"; b only the RELATED_TO neighbour "deep learning"; c shares a concept
    with a directly; d is two RELATED_TO steps away; e is unrelated."""
    for doc in "abcde":
        services.upsert_document(doc, f"Doc {doc}", f"docs/{doc}.md", f"hash-{doc}")
    services.link_document_concepts("a", {"neural networks": 2, "training": 1})
    services.link_document_concepts("b", {"deep learning": 3})
    services.link_document_concepts("c", {"training": 1})
    services.link_document_concepts("d", {"gpus": 1})
    services.link_document_concepts("e", {"cooking": 5})
    services.relate_concepts([("neural networks", "deep learning", 0.8), ("deep learning", "gpus", 0.4)])
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

"""Reciprocal rank fusion: worked examples and properties (pure, no store)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from retrieval.fusion import FusedHit, fuse, fuse_documents, fused

SOURCES = ("vector", "graph", "keyword")
chunk_ids = st.text(alphabet="abcdef", min_size=1, max_size=3)
ranking = st.lists(chunk_ids, max_size=12, unique=True)
rankings = st.dictionaries(st.sampled_from(SOURCES), ranking)
weight = st.floats(min_value=0, max_value=10, allow_nan=False)
weights = st.fixed_dictionaries({source: weight for source in SOURCES})


def test_worked_example():
    hits = fuse({"vector": ["a", "b"], "keyword": ["b", "c"]}, {"vector": 1.0, "keyword": 0.5}, k0=60)
    assert [hit.chunk_id for hit in hits] == ["b", "a", "c"]
    assert hits[0] == FusedHit("b", 1 / 62 + 0.5 / 61, {"keyword": 1, "vector": 2})
    assert hits[1].score == pytest.approx(1 / 61) and hits[1].sources == {"vector": 1}
    assert hits[2].score == pytest.approx(0.5 / 62) and hits[2].sources == {"keyword": 2}


def test_missing_weight_counts_as_one_and_limit_cuts():
    hits = fuse({"vector": ["a", "b", "c"]}, {}, k0=0, limit=2)
    assert [(h.chunk_id, h.score) for h in hits] == [("a", 1.0), ("b", 0.5)]


def test_ties_broken_by_best_rank_then_sources_then_id():
    # Equal scores: "x" is rank 1 somewhere, "y" only rank 2.
    hits = fuse({"vector": ["x", "y"], "graph": ["y", "x"]}, {"vector": 1, "graph": 1})
    assert hits[0].score == hits[1].score
    assert [h.chunk_id for h in hits] == ["x", "y"]
    # Same score and same best rank: the id decides.
    hits = fuse({"vector": ["q"], "graph": ["p"]}, {"vector": 1, "graph": 1})
    assert [h.chunk_id for h in hits] == ["p", "q"]


def test_duplicate_id_keeps_its_best_rank():
    hits = fuse({"vector": ["a", "b", "a"]}, {"vector": 1})
    assert {h.chunk_id: h.sources for h in hits} == {"a": {"vector": 1}, "b": {"vector": 2}}


def test_zero_weight_source_is_left_out_entirely():
    hits = fuse({"vector": ["a"], "graph": ["b"]}, {"vector": 1, "graph": 0})
    assert [(h.chunk_id, h.sources) for h in hits] == [("a", {"vector": 1})]


@pytest.mark.parametrize("bad", [{"weights": {"vector": -1}}, {"weights": {"vector": math.nan}},
                                 {"weights": {"vector": True}}, {"k0": -1}, {"limit": -1}, {"limit": 1.5}])
def test_bad_arguments(bad):
    with pytest.raises(ValueError):
        fuse({"vector": ["a"]}, **bad)


@settings(max_examples=300, deadline=None)
@given(rankings, weights, st.integers(min_value=0, max_value=100))
def test_scores_never_increase_and_each_chunk_appears_once(rankings, weights, k0):
    hits = fuse(rankings, weights, k0=k0)
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)
    assert len({hit.chunk_id for hit in hits}) == len(hits)
    for hit in hits:
        for source, rank in hit.sources.items():
            assert rankings[source][rank - 1] == hit.chunk_id


@settings(max_examples=300, deadline=None)
@given(rankings, weights, st.sampled_from(SOURCES), ranking)
def test_more_sources_never_score_lower(rankings, weights, extra_source, extra_ranking):
    """Adding a source's ranking can only raise a chunk's score (same ranks elsewhere)."""
    fewer = {source: ids for source, ids in rankings.items() if source != extra_source}
    more = dict(fewer, **{extra_source: extra_ranking})
    before = {hit.chunk_id: hit.score for hit in fuse(fewer, weights)}
    after = {hit.chunk_id: hit.score for hit in fuse(more, weights)}
    for chunk_id, score in before.items():
        assert after[chunk_id] >= score


@settings(max_examples=300, deadline=None)
@given(rankings, weights, st.sampled_from(SOURCES), ranking)
def test_zero_weight_removes_a_source_influence(rankings, weights, source, other_ranking):
    weights = dict(weights, **{source: 0.0})
    with_it = dict(rankings, **{source: other_ranking})
    without = {s: ids for s, ids in rankings.items() if s != source}
    assert fuse(with_it, weights) == fuse(without, weights)


@settings(max_examples=200, deadline=None)
@given(rankings, weights)
def test_deterministic_whatever_the_source_order(rankings, weights):
    reversed_rankings = dict(reversed(list(rankings.items())))
    assert fuse(rankings, weights) == fuse(reversed_rankings, weights)


@settings(max_examples=200, deadline=None)
@given(rankings, weights, st.integers(min_value=0, max_value=20))
def test_limit_is_a_prefix(rankings, weights, limit):
    assert fuse(rankings, weights, limit=limit) == fuse(rankings, weights)[:limit]


# ---- document level ------------------------------------------------------------------------------------------

DOCUMENT_OF = {"a1": "A", "b1": "B", "b2": "B", "b3": "B", "c1": "C"}


def test_document_level_worked_example_two_sources_agree_on_a_document_through_different_chunks():
    rankings = {"vector": ["a1", "b1"], "keyword": ["b2", "c1"]}
    hits = fuse_documents(rankings, DOCUMENT_OF, {"vector": 1.0, "keyword": 1.0}, k0=0)
    # B: vector's 2nd document, keyword's 1st = 1/2 + 1/1; shown by its chunk-level best, b2 (keyword #1).
    assert hits == [FusedHit("b2", 1.5, {"keyword": 1, "vector": 2}), FusedHit("a1", 1.0, {"vector": 1}),
                    FusedHit("c1", 0.5, {"keyword": 2})]
    # Chunk level sees no agreement: a1 and b2 tie at 1.0, and b1 (0.5) only counts for vector.
    assert [hit.chunk_id for hit in fuse(rankings, {"vector": 1.0, "keyword": 1.0}, k0=0)] == ["a1", "b2", "b1", "c1"]


def test_document_level_ranks_a_document_where_its_best_chunk_ranks_once_per_source():
    hits = fuse_documents({"vector": ["b1", "b2", "b3", "a1"]}, DOCUMENT_OF, {"vector": 1.0}, k0=0)
    assert [(h.chunk_id, h.score, h.sources) for h in hits] == [("b1", 1.0, {"vector": 1}), ("a1", 0.5, {"vector": 2})]


def test_document_level_per_document_keeps_a_documents_chunks_together_in_chunk_order():
    rankings = {"vector": ["b1", "a1", "b3"], "keyword": ["b3", "c1"]}
    weights = {"vector": 1.0, "keyword": 1.0}
    two = fuse_documents(rankings, DOCUMENT_OF, weights, k0=0, per_document=2)
    assert [h.chunk_id for h in two] == ["b3", "b1", "a1", "c1"]  # b3: vector #3 + keyword #1 beats b1
    assert {h.score for h in two[:2]} == {2.0}
    assert [h.chunk_id for h in fuse_documents(rankings, DOCUMENT_OF, weights, k0=0, per_document=0, limit=3)] == \
        ["b3", "b1", "a1"]
    with pytest.raises(ValueError, match="per_document"):
        fuse_documents(rankings, DOCUMENT_OF, weights, per_document=-1)


def test_fused_is_the_search_fusion_at_either_level():
    rankings = {"vector": ["a1", "b1"], "keyword": ["b2", "c1"]}
    weights = {"vector": 1.0, "keyword": 1.0}
    assert fused(rankings, DOCUMENT_OF, weights, k0=0, level="document", per_document=1, limit=2) == \
        fuse_documents(rankings, DOCUMENT_OF, weights, k0=0, limit=2)
    assert [h.chunk_id for h in fused(rankings, DOCUMENT_OF, weights, k0=0, level="chunk", per_document=1,
                                      limit=None)] == ["a1", "b2", "c1"]
    with pytest.raises(ValueError, match="level must be one of document, chunk"):
        fused(rankings, DOCUMENT_OF, weights, k0=0, level="page", per_document=1, limit=None)


documents = st.dictionaries(chunk_ids, st.sampled_from("PQRS"))


@settings(max_examples=300, deadline=None)
@given(rankings, weights, documents, st.integers(min_value=0, max_value=3), st.integers(min_value=0, max_value=60))
def test_document_level_blocks_scores_and_order(rankings, weights, document_of, per_document, k0):
    hits = fuse_documents(rankings, document_of, weights, k0=k0, per_document=per_document)
    groups = [document_of.get(h.chunk_id, h.chunk_id) for h in hits]
    blocks = list(dict.fromkeys(groups))
    assert groups == [g for g in blocks for _ in range(groups.count(g))]  # each document in one block
    assert all(per_document == 0 or groups.count(g) <= per_document for g in blocks)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert len({h.chunk_id for h in hits}) == len(hits)
    assert hits == fuse_documents(dict(reversed(list(rankings.items()))), document_of, weights, k0=k0,
                                  per_document=per_document)


def test_query_concepts_are_the_content_phrases_of_the_query():
    from retrieval.selectors import query_concepts

    concepts = query_concepts("How do I mark a test as expected to fail?")
    assert "test" in concepts and "fail" in concepts and "how" not in concepts and "do" not in concepts
    assert len(query_concepts(" ".join(f"word{i}" for i in range(100)))) == 32

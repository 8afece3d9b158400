"""Reciprocal rank fusion: worked examples and properties (pure, no store)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings, strategies as st

from retrieval.fusion import FusedHit, fuse

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


def test_query_concepts_are_the_content_phrases_of_the_query():
    from retrieval.selectors import query_concepts

    concepts = query_concepts("How do I mark a test as expected to fail?")
    assert "test" in concepts and "fail" in concepts and "how" not in concepts and "do" not in concepts
    assert len(query_concepts(" ".join(f"word{i}" for i in range(100)))) == 32

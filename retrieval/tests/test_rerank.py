"""Passage re-ranking of the fused first page: the pure stage (retrieval.rerank), then in the search on the real
engines (hashing embedder: the order it gives is not a quality claim, only the stage's contract)."""

from __future__ import annotations

import pytest

from retrieval import pipeline, rerank
from retrieval.fusion import FusedHit
from retrieval.tests.corpus import QUERY
from retrieval.tests.corpus import corpus  # noqa: F401 (fixture)

EQUAL = {"vector": 1.0, "graph": 1.0, "keyword": 1.0}


def test_windows_overlap_by_half_and_cover_the_end():
    assert rerank.windows("abcdefghij", 4) == ["abcd", "cdef", "efgh", "ghij"]
    assert rerank.windows("abcdefghi", 4) == ["abcd", "cdef", "efgh", "fghi"]  # the last one ends at the end
    assert rerank.windows("short", 10) == ["short"]
    assert rerank.windows("", 10) == [""]
    with pytest.raises(ValueError, match="size"):
        rerank.windows("text", 0)


def test_in_hand_interleaves_the_legs_by_rank_for_the_wanted_documents_only():
    rankings = {"vector": ["a1", "b1", "a2"], "keyword": ["b2", "a1", "c1"]}
    document_of = {"a1": "A", "a2": "A", "b1": "B", "b2": "B", "c1": "C"}
    assert rerank.in_hand(rankings, document_of, ["A", "B"]) == {"B": ["b2", "b1"], "A": ["a1", "a2"]}
    assert rerank.in_hand(rankings, document_of, []) == {}


def _hits(*documents: str) -> list[FusedHit]:
    return [FusedHit(chunk_id=f"{d}1", score=1.0 / n, sources={"keyword": n}) for n, d in enumerate(documents, 1)]


def _embed_by_word(word: str):
    """A toy embedder: a passage holding `word` points along the query, any other one away from it."""
    return lambda texts: [[1.0, 0.0] if word in text else [0.0, 1.0] for text in texts]


def test_a_document_whose_passage_matches_moves_up_within_the_depth_only():
    hits = _hits("A", "B", "C", "D")
    document_of = {f"{d}1": d for d in "ABCD"}
    in_hand = {d: [f"{d}1"] for d in "ABCD"}
    texts = {"A1": "nothing here", "B1": "nothing", "C1": "the answer", "D1": "the answer too"}
    contexts = {"C1": "Title"}
    seen = []

    def embed(passages):
        seen.extend(passages)
        return _embed_by_word("answer")(passages)

    out = rerank.rerank(hits, document_of, in_hand, texts, contexts, [1.0, 0.0], embed, depth=3, window=100)
    # RRF of the two orders (constant 5): C (fused 3rd, best window 1st) 1/8 + 1/6 passes B (fused 2nd, window 3rd:
    # 1/7 + 1/8) but not A (1/6 + 1/7); D, beyond the depth, stays where it was.
    assert [h.chunk_id for h in out] == ["A1", "C1", "B1", "D1"]
    assert "Title\n\nthe answer" in seen and not any("too" in p for p in seen)  # D was not embedded
    assert out[1] is hits[2]  # the hits themselves (score, sources) are kept


def test_agreeing_orders_change_nothing_and_short_lists_are_left_alone():
    hits = _hits("A", "B", "C")
    document_of = {f"{d}1": d for d in "ABC"}
    in_hand = {d: [f"{d}1"] for d in "ABC"}
    texts = {"A1": "answer", "B1": "x", "C1": "y"}
    out = rerank.rerank(hits, document_of, in_hand, texts, {}, [1.0, 0.0], _embed_by_word("answer"), depth=5,
                        window=50)
    assert out == hits
    calls = []
    assert rerank.rerank(hits[:1], document_of, in_hand, texts, {}, [1.0, 0.0], calls.append, depth=5,
                         window=50) == hits[:1]
    assert calls == []  # nothing to reorder: nothing embedded


def test_every_chunk_in_hand_counts_and_a_document_without_text_ranks_last_by_window():
    document_of = {"A1": "A", "B1": "B", "B2": "B", "C1": "C"}
    in_hand = {"B": ["B1", "B2"], "C": ["C1"]}  # A has no chunk in hand
    texts = {"B1": "x", "B2": "the answer", "C1": "y"}
    embedded = []

    def embed(passages):
        embedded.extend(passages)
        return _embed_by_word("answer")(passages)

    out = rerank.rerank(_hits("A", "C", "B"), document_of, in_hand, texts, {}, [1.0, 0.0], embed, depth=3, window=50)
    # Windows: B (its second chunk) 1st, C 2nd, A (nothing to read) 3rd. Scores: A 1/6 + 1/8, C 1/7 + 1/7,
    # B 1/8 + 1/6: A and B tie and the fused order breaks the tie; C falls behind both.
    assert [h.chunk_id for h in out] == ["A1", "B1", "C1"]
    assert sorted(embedded) == ["the answer", "x", "y"]



@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_search_reranks_its_first_documents_when_asked(corpus, settings):
    settings.SEARCH_RERANK_DEPTH = 0
    plain = pipeline.search(QUERY, k=5, hops=1, weights=EQUAL, record=False)
    assert "rerank" not in plain.latency_ms
    settings.SEARCH_RERANK_DEPTH, settings.SEARCH_RERANK_WINDOW = 3, 80
    reranked = pipeline.search(QUERY, k=5, hops=1, weights=EQUAL, record=False)
    assert reranked.latency_ms["rerank"] >= 0
    first = lambda result, n: [h.document_id for h in result.hits[:n]]  # noqa: E731
    assert sorted(first(reranked, 3)) == sorted(first(plain, 3))  # the first three documents, in some order
    assert first(reranked, 5)[3:] == first(plain, 5)[3:]  # the rest where fusion put them
    assert {h.chunk_id: (h.score, h.sources) for h in reranked.hits} == {
        h.chunk_id: (h.score, h.sources) for h in plain.hits}
    # A single leg is that leg's ranking: never re-ranked (evaluate's vector/keyword/graph modes).
    keyword_only = pipeline.search(QUERY, k=5, weights={"vector": 0.0, "graph": 0.0, "keyword": 1.0}, record=False)
    assert "rerank" not in keyword_only.latency_ms and "embed" not in keyword_only.latency_ms
    # Keyword and graph without the vector leg: the stage embeds the question itself.
    no_vector = pipeline.search(QUERY, k=5, hops=1, weights={"vector": 0.0, "graph": 1.0, "keyword": 1.0},
                                record=False)
    assert "rerank" in no_vector.latency_ms
    no_graph_no_vector = pipeline.search(QUERY, k=5, hops=0, weights={"vector": 0.0, "graph": 1.0, "keyword": 1.0},
                                         record=False)
    assert "embed" not in no_graph_no_vector.latency_ms  # graph needs a hop: one leg left, no re-ranking

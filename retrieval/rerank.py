"""Passage re-ranking of the fused first page (opt-in: SEARCH_RERANK_DEPTH, default 0 = off; docs/evaluation.md 6).

The vector leg compares the question with a whole chunk (~1,000 characters plus its title and headings): with an
embedder that averages token vectors (WordLlama) a short matching passage is diluted by the rest of the chunk. This
stage compares the question with short overlapping windows of the chunks already in hand instead: for each of the
first `depth` fused documents, every window of each of its chunks that a leg returned (hydrated by the search), with
the chunk's context (title and section headings) in front, is embedded; a document scores its best window. The
documents are then ordered by reciprocal rank fusion of their fused position and their window position, so a
document moves only when both orders agree more on it than on its neighbours; documents after `depth` keep their
place. Nothing is read from a store: the texts come from the search's hydration, the contexts from one indexed
SELECT (retrieval.selectors.chunk_contexts), and the embedding is the search's own embedder.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping, Sequence

from retrieval.fusion import FusedHit
from textmodels.passages import embedding_text

RERANK_K0 = 5.0  # the RRF constant of the two orders; 5, 20 and 60 gave the same dev figures at depth 5
MAX_CHUNKS_PER_DOCUMENT = 8  # the chunks in hand read per document, best first (bounds the embedding work)


def windows(text: str, size: int) -> list[str]:
    """Windows of `size` characters every size // 2 characters, the last one ending at the text's end; the whole
    text when it is not longer than `size`."""
    if size <= 0:
        raise ValueError(f"size must be > 0, got {size!r}")
    if len(text) <= size:
        return [text]
    stride = max(size // 2, 1)
    starts = list(range(0, len(text) - size + 1, stride))
    if starts[-1] + size < len(text):
        starts.append(len(text) - size)
    return [text[start:start + size] for start in starts]


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(map(operator.mul, a, b))


def _cosine(a: Sequence[float], b: Sequence[float]) -> float:
    norm = math.sqrt(_dot(a, a) * _dot(b, b))
    return _dot(a, b) / norm if norm else 0.0


def in_hand(rankings: Mapping[str, Sequence[str]], document_of: Mapping[str, str], documents: Sequence[str]) \
        -> dict[str, list[str]]:
    """{document: its chunk ids in `rankings` ({source: chunk ids best first}), best first: the sources' rankings
    interleaved by rank, each chunk once, at most MAX_CHUNKS_PER_DOCUMENT}, for the given documents."""
    wanted = set(documents)
    found: dict[str, list[str]] = {}
    longest = max((len(ids) for ids in rankings.values()), default=0)
    for position in range(longest):
        for source in sorted(rankings):
            ids = rankings[source]
            if position >= len(ids):
                continue
            document = document_of.get(ids[position], ids[position])
            chunks = found.setdefault(document, []) if document in wanted else None
            if chunks is not None and ids[position] not in chunks and len(chunks) < MAX_CHUNKS_PER_DOCUMENT:
                chunks.append(ids[position])
    return found


def rerank(hits: Sequence[FusedHit], document_of: Mapping[str, str], in_hand: Mapping[str, Sequence[str]],
           texts: Mapping[str, str], contexts: Mapping[str, str], query_vector: Sequence[float],
           embed: Callable[[list[str]], list[list[float]]], *, depth: int, window: int) -> list[FusedHit]:
    """`hits` (fused, best first) with the hits of their first `depth` documents reordered as the module says.

    in_hand: {document_id: its chunk ids the legs returned, best first}; texts / contexts: {chunk_id: text /
    context}; embed: texts -> vectors (one call for all windows)."""
    order = list(dict.fromkeys(document_of.get(hit.chunk_id, hit.chunk_id) for hit in hits))
    head = order[:depth]
    if len(head) < 2:
        return list(hits)
    owners, passages = [], []
    for document in head:
        for chunk_id in in_hand.get(document, ()):
            context = contexts.get(chunk_id, "")
            for piece in windows(texts.get(chunk_id, ""), window):
                owners.append(document)
                passages.append(embedding_text(context, piece))
    best = dict.fromkeys(head, -2.0)  # a document without a passage ranks last by its window
    for document, vector in zip(owners, embed(passages) if passages else [], strict=True):
        best[document] = max(best[document], _cosine(query_vector, vector))
    by_window = {d: rank for rank, d in enumerate(sorted(head, key=lambda d: (-best[d], head.index(d))), start=1)}
    score = {d: 1 / (RERANK_K0 + position) + 1 / (RERANK_K0 + by_window[d])
             for position, d in enumerate(head, start=1)}
    new_head = sorted(head, key=lambda d: (-score[d], head.index(d)))
    blocks: dict[str, list[FusedHit]] = {}
    for hit in hits:
        blocks.setdefault(document_of.get(hit.chunk_id, hit.chunk_id), []).append(hit)
    return [hit for document in new_head + order[depth:] for hit in blocks[document]]

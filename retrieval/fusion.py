"""Reciprocal rank fusion (pure): merge ranked lists from several retrievers into one ranking.

score(chunk) = sum over sources s that found it of weights[s] / (k0 + rank_s(chunk)), ranks from 1.
RRF uses only ranks, never the retrievers' raw scores, so a cosine similarity, a ts_rank and a graph
score need no common scale. A source with weight 0 is left out entirely (it neither scores nor appears
in a hit's `sources`). Ties are broken by best single rank, then by more sources, then by chunk_id, so
the same input always gives the same order.

Document level (`fuse_documents`, the search's default): the same sum over each source's ranking of
*documents* (a document ranks where its best chunk does, each document once), so two sources that found
different chunks of one document agree on it; each document then shows its chunks in chunk-level order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

DEFAULT_K0 = 60  # the constant of Cormack, Clarke & Buettcher (2009)


@dataclass(frozen=True)
class FusedHit:
    chunk_id: str
    score: float
    sources: dict[str, int] = field(default_factory=dict)  # source -> 1-based rank in that source


def fuse(
    rankings: Mapping[str, Sequence[str]],
    weights: Mapping[str, float] | None = None,
    k0: float = DEFAULT_K0,
    limit: int | None = None,
) -> list[FusedHit]:
    """Fuse `rankings` ({source: chunk ids best first}) into at most `limit` hits, best first.

    A source missing from `weights` weighs 1.0. A chunk listed twice by one source keeps its best rank.
    """
    weights = dict(weights or {})
    _check(weights, k0, limit)
    ranks: dict[str, dict[str, int]] = {}
    for source in sorted(rankings):  # sorted: the float sums below do not depend on dict order
        weight = float(weights.get(source, 1.0))
        if weight == 0:
            continue
        for position, chunk_id in enumerate(rankings[source], start=1):
            ranks.setdefault(chunk_id, {}).setdefault(source, position)

    hits = []
    for chunk_id, found in ranks.items():
        score = math.fsum(float(weights.get(s, 1.0)) / (k0 + rank) for s, rank in sorted(found.items()))
        hits.append(FusedHit(chunk_id=chunk_id, score=score, sources=dict(sorted(found.items()))))
    hits.sort(key=lambda hit: (-hit.score, min(hit.sources.values()), -len(hit.sources), hit.chunk_id))
    return hits if limit is None else hits[:limit]


def _check(weights: Mapping[str, float], k0: float, limit: int | None) -> None:
    for source, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
                or weight < 0:
            raise ValueError(f"weight for {source!r} must be a finite number >= 0, got {weight!r}")
    if isinstance(k0, bool) or not isinstance(k0, (int, float)) or not math.isfinite(k0) or k0 < 0:
        raise ValueError(f"k0 must be a finite number >= 0, got {k0!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"limit must be a whole number >= 0 or None, got {limit!r}")


def cap_per_group(hits: Sequence[FusedHit], group_of: Mapping[str, str], limit_per_group: int,
                  limit: int | None = None) -> list[FusedHit]:
    """The first `limit_per_group` hits of each group (group_of[chunk_id], e.g. its document), order kept, then
    at most `limit` hits; limit_per_group 0 keeps every hit. A chunk without a group is a group of its own."""
    if limit_per_group < 0:
        raise ValueError(f"limit_per_group must be >= 0, got {limit_per_group!r}")
    if limit_per_group == 0:
        kept = list(hits)
    else:
        seen: dict[str, int] = {}
        kept = []
        for hit in hits:
            group = group_of.get(hit.chunk_id, hit.chunk_id)
            if seen.get(group, 0) < limit_per_group:
                seen[group] = seen.get(group, 0) + 1
                kept.append(hit)
    return kept if limit is None else kept[:limit]


FUSION_LEVELS = ("document", "chunk")


def fuse_documents(rankings: Mapping[str, Sequence[str]], document_of: Mapping[str, str],
                   weights: Mapping[str, float] | None = None, k0: float = DEFAULT_K0, per_document: int = 1,
                   limit: int | None = None) -> list[FusedHit]:
    """Documents fused by RRF over each source's documents in first-seen order (document_of[chunk_id]; a chunk
    without one is a document of its own), best first; each document contributes its first `per_document` chunks
    in chunk-level fused order (0: all it has), every one carrying the document's score and its rank per source."""
    weights = dict(weights or {})
    _check(weights, k0, limit)
    if per_document < 0:
        raise ValueError(f"per_document must be >= 0, got {per_document!r}")
    ranks: dict[str, dict[str, int]] = {}
    for source in sorted(rankings):
        if float(weights.get(source, 1.0)) == 0:
            continue
        documents = dict.fromkeys(document_of.get(chunk_id, chunk_id) for chunk_id in rankings[source])
        for position, document in enumerate(documents, start=1):
            ranks.setdefault(document, {})[source] = position
    scores = {document: math.fsum(float(weights.get(s, 1.0)) / (k0 + rank) for s, rank in sorted(found.items()))
              for document, found in ranks.items()}
    order = sorted(ranks, key=lambda d: (-scores[d], min(ranks[d].values()), -len(ranks[d]), d))
    chunks: dict[str, list[str]] = {}
    for hit in fuse(rankings, weights, k0):
        chunks.setdefault(document_of.get(hit.chunk_id, hit.chunk_id), []).append(hit.chunk_id)
    hits = [FusedHit(chunk_id=chunk_id, score=scores[document], sources=dict(sorted(ranks[document].items())))
            for document in order for chunk_id in (chunks[document][:per_document] if per_document
                                                   else chunks[document])]
    return hits if limit is None else hits[:limit]


def fused(rankings: Mapping[str, Sequence[str]], document_of: Mapping[str, str], weights: Mapping[str, float],
          *, k0: float, level: str, per_document: int, limit: int | None) -> list[FusedHit]:
    """The search's fusion: `level` "document" (fuse_documents) or "chunk" (fuse, then cap_per_group)."""
    if level == "document":
        return fuse_documents(rankings, document_of, weights, k0, per_document=per_document, limit=limit)
    if level != "chunk":
        raise ValueError(f"level must be one of {', '.join(FUSION_LEVELS)}, got {level!r}")
    return cap_per_group(fuse(rankings, weights, k0), document_of, per_document, limit=limit)

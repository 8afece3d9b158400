"""Retrieval metrics (pure): per question from the document id of each returned chunk, best first, and a set's
summary. Definitions (docs/evaluation.md):
- hit@n: 1 if one of the first n returned chunks belongs to a relevant document, else 0.
- MRR: 1 / rank of the first relevant document in the returned list with documents de-duplicated (a document's
  rank is the position of its first chunk among distinct documents); 0 if none is returned.
- nDCG@10: binary gains over the first 10 distinct documents of the returned list; the ideal ranking puts
  all relevant documents first (at most 10).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

HIT_DEPTHS = (1, 5)
NDCG_DEPTH = 10


def distinct(items: Iterable[str]) -> list[str]:
    """Items in first-seen order, each once."""
    return list(dict.fromkeys(items))


def hit_at(documents: Sequence[str], relevant: set[str], n: int) -> float:
    """1.0 if one of the first n results (chunks, given by their document ids) is relevant."""
    return 1.0 if any(document in relevant for document in documents[:n]) else 0.0


def first_relevant_rank(documents: Sequence[str], relevant: set[str]) -> int | None:
    """1-based rank of the first relevant document among the distinct documents, or None."""
    for rank, document in enumerate(distinct(documents), start=1):
        if document in relevant:
            return rank
    return None


def reciprocal_rank(documents: Sequence[str], relevant: set[str]) -> float:
    rank = first_relevant_rank(documents, relevant)
    return 0.0 if rank is None else 1.0 / rank


def ndcg_at(documents: Sequence[str], relevant: set[str], n: int = NDCG_DEPTH) -> float:
    """Binary-gain nDCG over the first n distinct documents; 0.0 when nothing is relevant."""
    if not relevant or n <= 0:
        return 0.0
    gains = sum(1.0 / math.log2(rank + 1)
                for rank, document in enumerate(distinct(documents)[:n], start=1) if document in relevant)
    ideal = sum(1.0 / math.log2(rank + 1) for rank in range(1, min(len(relevant), n) + 1))
    return gains / ideal


def percentile(values: Sequence[float], p: float) -> float:
    """Linear-interpolated percentile (p in 0..100) of `values`; nan for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * p / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def question_metrics(documents: Sequence[str], relevant: set[str]) -> dict[str, float]:
    """All metrics for one question: `documents` is the document id of each returned chunk, best first."""
    metrics = {f"hit@{n}": hit_at(documents, relevant, n) for n in HIT_DEPTHS}
    metrics["mrr"] = reciprocal_rank(documents, relevant)
    metrics[f"ndcg@{NDCG_DEPTH}"] = ndcg_at(documents, relevant, NDCG_DEPTH)
    return metrics


def summarize(per_question: Sequence[dict[str, float]], latencies_ms: Sequence[float]) -> dict[str, float]:
    """Means of the per-question metrics, plus latency p50/p95 in ms and the question count."""
    names = [f"hit@{n}" for n in HIT_DEPTHS] + ["mrr", f"ndcg@{NDCG_DEPTH}"]
    count = len(per_question)
    summary = {name: (math.fsum(m[name] for m in per_question) / count if count else math.nan) for name in names}
    summary["p50_ms"] = percentile(latencies_ms, 50)
    summary["p95_ms"] = percentile(latencies_ms, 95)
    summary["questions"] = count
    return summary


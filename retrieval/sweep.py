"""Fusion parameter sweep for tuning on the dev sets (docs/evaluation.md): a grid of hybrid weights x candidate
depth (SEARCH_POOL_MIN) x chunks per document x fusion level (document, chunk), scored with the evaluation
metrics (the collection is flushed and its index waited for first, as `evaluate` does).

Per question and pool size the three legs run once (through the pipeline's own stages, nothing logged); every
weight and cap combination is then fused offline with retrieval.fusion, exactly as the pipeline does. Run:

    python manage.py shell -c "from retrieval.sweep import main; main(['eval/sets/django.dev.jsonl', \
        'eval/sets/pytest.dev.jsonl'])"
"""

from __future__ import annotations

import itertools
import json
import math

from django.conf import settings
from django.test.utils import override_settings

from retrieval import evaluation as ev
from retrieval import fusion
from vectorstore import services as vector_services

POOLS = (20, 40, 80)
WEIGHTS = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0)
CAPS = (0, 1, 2, 3)


def _legs(text: str, pool: int) -> tuple[dict[str, list[str]], dict[str, str]]:
    from retrieval import pipeline
    from retrieval.params import validate

    with override_settings(SEARCH_POOL_MIN=pool):
        params = validate(text, weights={"vector": 1.0, "graph": 1.0, "keyword": 1.0})
        vector = pipeline._embed(params.text)
        vector_hits = pipeline.vectors.search(vector, params.pool, params.filters, pipeline.CONSISTENCY)
        graph_hits = pipeline._graph_stage(params, vector, vector_hits) if params.graph_enabled else []
        keyword, _ = pipeline._keyword_stage(params)
    rankings = {"vector": [h["chunk_id"] for h in vector_hits], "graph": [h["chunk_id"] for h in graph_hits],
                "keyword": keyword}
    chunks = pipeline._visible_chunks(rankings)
    visible = {s: [c for c in ids if c in chunks] for s, ids in rankings.items()}
    return visible, {c: row[0] for c, row in chunks.items()}


def main(paths: list[str], k: int = 10, top: int = 15) -> list[dict]:
    vector_services.flush_and_wait_indexed()
    sets = [ev.load_set(p) for p in paths]
    questions = [q for s in sets for q in s.questions]
    relevant = ev.relevant_documents(questions)
    legs = {(q.id, pool): _legs(q.question, pool) for q in questions for pool in POOLS}
    rows = []
    for pool, vw, gw, kw, cap, level in itertools.product(POOLS, WEIGHTS, WEIGHTS, WEIGHTS, CAPS, fusion.FUSION_LEVELS):
        if not (vw or gw or kw) or (vw, gw, kw) != _canonical(vw, gw, kw):
            continue
        weights = {"vector": vw, "graph": gw, "keyword": kw}
        per_set = {}
        for eval_set in sets:
            metrics = []
            for q in eval_set.questions:
                visible, document_of = legs[(q.id, pool)]
                fused = fusion.fused(visible, document_of, weights, k0=settings.SEARCH_RRF_K, level=level,
                                     per_document=cap, limit=k)
                metrics.append(ev.question_metrics([document_of[h.chunk_id] for h in fused], relevant[q.id]))
            per_set[eval_set.name] = ev.summarize(metrics, [])
        mean = {m: math.fsum(s[m] for s in per_set.values()) / len(per_set) for m in ("hit@1", "hit@5", "mrr",
                                                                                       "ndcg@10")}
        rows.append({"pool": pool, "weights": weights, "cap": cap, "fusion": level, "mean": mean,
                     "sets": {n: {m: s[m] for m in ("hit@5", "mrr")} for n, s in per_set.items()}})
    rows.sort(key=lambda r: (-(r["mean"]["mrr"] + r["mean"]["hit@5"]), -r["mean"]["ndcg@10"]))
    for row in rows[:top]:
        print(json.dumps(row))
    return rows


def _canonical(*weights: float) -> tuple[float, ...]:
    """Weights that are a multiple of another grid point rank the same under RRF; keep the one whose largest
    weight is 1 (or whose weights cannot be scaled to that within the grid)."""
    largest = max(weights)
    scaled = tuple(w / largest for w in weights)
    if all(s in WEIGHTS for s in scaled):
        return scaled
    return weights

"""Retrieval evaluation: question sets with known relevant documents, run through the search pipeline per mode.

The sets are retrieval.eval_sets (JSON Lines files, or promoted feedback), the metrics retrieval.eval_metrics
(pure); this module runs every question once per mode (`run`, without logging Query rows) and reports the
summaries (`report`, `table`). Its names are also importable from here, as callers used them before the split.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from retrieval.eval_metrics import (  # noqa: F401 (re-exported)
    HIT_DEPTHS, NDCG_DEPTH, distinct, first_relevant_rank, hit_at, ndcg_at, percentile, question_metrics,
    reciprocal_rank, summarize,
)
from retrieval.eval_sets import (  # noqa: F401 (re-exported)
    FEEDBACK_CORPUS, EvalSet, EvaluationError, FeedbackSets, Question, ingest_command, load_feedback_sets, load_set,
    relevant_documents,
)

SOURCES = ("vector", "graph", "keyword")
MODES = ("vector", "keyword", "graph", "hybrid")
SINGLE_SOURCE = {mode: {source: float(source == mode) for source in SOURCES} for mode in SOURCES}


def mode_weights(mode: str, hybrid: dict[str, float] | None = None) -> dict[str, float] | None:
    """The search weights of a mode: one source at 1 and the others at 0, or for "hybrid" the given weights
    (None: the configured defaults, settings.SEARCH_WEIGHTS)."""
    if mode == "hybrid":
        return None if hybrid is None else dict(hybrid)
    if mode not in SINGLE_SOURCE:
        raise EvaluationError(f"unknown mode {mode!r}; use {', '.join(MODES)}")
    return dict(SINGLE_SOURCE[mode])


@dataclass
class ModeResult:
    per_question: list[dict[str, float]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    rankings: dict[str, list[str]] = field(default_factory=dict)  # question id -> returned document ids

    def summary(self) -> dict[str, float]:
        return summarize(self.per_question, self.latencies_ms)


def run(sets: Sequence[EvalSet], modes: Sequence[str], *, k: int = 10, weights: dict[str, float] | None = None,
        search: Callable | None = None, progress: Callable[[], None] | None = None,
        corpus_roots: dict[str, str] | None = None,
        relevant: dict[str, set[str]] | None = None) -> dict[str, dict[str, ModeResult]]:
    """{set name: {mode: ModeResult}}. `search(text, k=, weights=, hops=)` returns a pipeline SearchResult;
    the default is the pipeline's search with record=False (no Query rows). `relevant` ({question id: document
    ids}, as load_feedback_sets gives it) skips the ledger lookup of the questions' relevant paths."""
    from django.conf import settings

    if search is None:
        from retrieval import pipeline

        def search(text, **kwargs):
            return pipeline.search(text, record=False, **kwargs)

    if relevant is None:
        relevant = relevant_documents([q for s in sets for q in s.questions], corpus_roots)
    results: dict[str, dict[str, ModeResult]] = {}
    graph_hops = settings.SEARCH_GRAPH_HOPS or 1  # graph-only needs at least one hop
    for eval_set in sets:
        per_mode = results.setdefault(eval_set.name, {mode: ModeResult() for mode in modes})
        for question in eval_set.questions:
            for mode in modes:
                started = time.perf_counter()
                result = search(question.question, k=k, weights=mode_weights(mode, weights),
                                hops=graph_hops if mode == "graph" else None)
                elapsed = (time.perf_counter() - started) * 1000
                documents = [hit.document_id for hit in result.hits]
                outcome = per_mode[mode]
                outcome.per_question.append(question_metrics(documents, relevant[question.id]))
                outcome.latencies_ms.append(elapsed)
                outcome.rankings[question.id] = documents
                if progress is not None:
                    progress()
    return results


def report(results: dict[str, dict[str, ModeResult]]) -> dict:
    """JSON-ready {set: {mode: summary}}, plus "all" per mode when there are several sets (micro-averaged)."""
    out = {name: {mode: r.summary() for mode, r in per_mode.items()} for name, per_mode in results.items()}
    if len(results) > 1:
        modes = next(iter(results.values())).keys()
        out["all"] = {
            mode: summarize([m for per_mode in results.values() for m in per_mode[mode].per_question],
                            [ms for per_mode in results.values() for ms in per_mode[mode].latencies_ms])
            for mode in modes
        }
    return out


COLUMNS = (("hit@1", "{:.3f}"), ("hit@5", "{:.3f}"), ("mrr", "{:.3f}"), ("ndcg@10", "{:.3f}"),
           ("p50_ms", "{:.1f}"), ("p95_ms", "{:.1f}"))


def table(summaries: dict) -> str:
    """A Markdown table: one row per set and mode."""
    header = ["set", "mode", "n"] + [name for name, _ in COLUMNS]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, per_mode in summaries.items():
        for mode, summary in per_mode.items():
            cells = [name, mode, str(summary["questions"])] + [fmt.format(summary[c]) for c, fmt in COLUMNS]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)

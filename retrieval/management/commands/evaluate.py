"""`manage.py evaluate EVALSET.jsonl [...]`: retrieval quality (hit@1, hit@5, MRR, nDCG@10) and latency per mode.

`manage.py evaluate --from-feedback [--set NAME]` runs the evaluation cases promoted from reviewed feedback in the
admin instead (every set, or the one named), scored the same way (relevant = the documents of the chunks the
reviewer marked relevant).

Runs every question of every set through the search pipeline once per mode, without logging Query rows:
    vector, keyword, graph: that source alone (weight 1, the others 0; graph with at least one hop)
    hybrid:                 the configured SEARCH_WEIGHT_* defaults, or --weights
Metric definitions: retrieval/eval_metrics.py and docs/evaluation.md.

First the Milvus collection is flushed and the command waits until the vector index covers every row (at most
INDEX_WAIT_SECONDS; `--no-wait-index` skips it): a freshly written collection is searched through a temporary
index until Milvus seals it, so two runs a few minutes apart would not give the same figures.
"""

from __future__ import annotations

import json
import math
from contextlib import ExitStack

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.test.utils import override_settings

from core.retry import StoreUnavailable, describe_error
from retrieval import evaluation
from retrieval.params import SOURCES, InvalidParameter
from vectorstore import services as vector_services
from vectorstore.client import VectorStoreError

INDEX_WAIT_SECONDS = 600


def _modes(value: str) -> list[str]:
    modes = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in modes if m not in evaluation.MODES]
    if not modes or unknown:
        raise CommandError(f"--modes {value!r}: use a comma-separated subset of {','.join(evaluation.MODES)}")
    return list(dict.fromkeys(modes))


def _weights(value: str) -> dict[str, float]:
    weights = {}
    for item in value.split(","):
        source, sep, number = item.strip().partition("=")
        try:
            if not sep or source not in SOURCES:
                raise ValueError
            weights[source] = float(number)
        except ValueError:
            raise CommandError(f"--weights {value!r}: use source=number pairs separated by commas, sources "
                               f"{', '.join(SOURCES)} (e.g. vector=1,graph=0.5,keyword=1)") from None
    return weights


def _corpus_root(value: str) -> tuple[str, str]:
    corpus, sep, root = value.partition("=")
    if not sep or not corpus or not root:
        raise CommandError(f"--corpus-root {value!r}: use CORPUS=PATH (e.g. django=.stack/eval-corpora/django)")
    return corpus, root


class Command(BaseCommand):
    help = ("Evaluate retrieval on JSONL question sets: hit@1, hit@5, MRR, nDCG@10 and latency per mode "
            "(no Query rows are written).")

    def add_arguments(self, parser):
        parser.add_argument("sets", nargs="*", metavar="EVALSET.jsonl", help="eval set files (JSON Lines)")
        parser.add_argument("--from-feedback", action="store_true",
                            help="run the evaluation cases promoted from reviewed feedback (rag_data) instead")
        parser.add_argument("--set", dest="set_name", default=None, metavar="NAME",
                            help="with --from-feedback: only this evaluation set (default: every set)")
        parser.add_argument("--modes", type=_modes, default=list(evaluation.MODES),
                            help="comma-separated modes (default: vector,keyword,graph,hybrid)")
        parser.add_argument("--weights", type=_weights, default=None,
                            help="hybrid weights, e.g. vector=1,graph=0.5,keyword=1 (default: SEARCH_WEIGHT_*)")
        parser.add_argument("--k", type=int, default=10, help="results per question (default 10)")
        parser.add_argument("--pool", type=int, default=None,
                            help="candidates per source, overrides SEARCH_POOL_MIN for this run")
        parser.add_argument("--max-chunks-per-document", type=int, default=None, dest="max_per_document",
                            help="overrides SEARCH_MAX_CHUNKS_PER_DOCUMENT for this run (0: no limit)")
        parser.add_argument("--fusion", choices=("document", "chunk"), default=None,
                            help="overrides SEARCH_FUSION for this run: fuse each leg's documents or its chunks")
        parser.add_argument("--rrf-k", type=float, default=None, help="overrides SEARCH_RRF_K for this run")
        parser.add_argument("--rerank-depth", type=int, default=None,
                            help="overrides SEARCH_RERANK_DEPTH for this run (passage re-ranking; 0: off)")
        parser.add_argument("--corpus-root", action="append", type=_corpus_root, default=[],
                            metavar="CORPUS=PATH", help="where a corpus was ingested from (only for the hint "
                                                        "printed when its documents are missing)")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the report as JSON")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        parser.add_argument("--no-wait-index", action="store_true",
                            help="search the collection as it is, without flushing it and waiting for its index")

    def handle(self, *args, sets, modes, weights, k, pool, max_per_document, corpus_root, as_json=False,
               no_progress=False, from_feedback=False, set_name=None, no_wait_index=False, fusion=None, rrf_k=None,
               rerank_depth=None, **options):
        if from_feedback and sets:
            raise CommandError("give eval set files or --from-feedback, not both")
        if not from_feedback and not sets:
            raise CommandError("give one or more eval set files (EVALSET.jsonl), or --from-feedback")
        if set_name is not None and not from_feedback:
            raise CommandError("--set names an evaluation set from feedback: use it with --from-feedback")
        overrides = {}
        if pool is not None:
            if pool < 1:
                raise CommandError(f"--pool must be at least 1, got {pool}")
            overrides["SEARCH_POOL_MIN"] = pool
        if max_per_document is not None:
            if max_per_document < 0:
                raise CommandError(f"--max-chunks-per-document must be >= 0, got {max_per_document}")
            overrides["SEARCH_MAX_CHUNKS_PER_DOCUMENT"] = max_per_document
        if fusion is not None:
            overrides["SEARCH_FUSION"] = fusion
        if rrf_k is not None:
            if not 0 <= rrf_k <= 1000:
                raise CommandError(f"--rrf-k must be from 0 to 1000, got {rrf_k:g}")
            overrides["SEARCH_RRF_K"] = rrf_k
        if rerank_depth is not None:
            if not 0 <= rerank_depth <= 100:
                raise CommandError(f"--rerank-depth must be from 0 to 100, got {rerank_depth}")
            overrides["SEARCH_RERANK_DEPTH"] = rerank_depth
        relevant = None
        try:
            if from_feedback:
                feedback_sets = evaluation.load_feedback_sets(set_name)
                loaded, relevant = feedback_sets.sets, feedback_sets.relevant
                for line in feedback_sets.skipped:
                    self.stderr.write(f"skipped {line}")
            else:
                loaded = [evaluation.load_set(path) for path in sets]
        except evaluation.EvaluationError as error:
            raise CommandError(str(error)) from None
        if not no_wait_index:
            self._wait_for_index()
        total = sum(len(s.questions) for s in loaded) * len(modes)
        with ExitStack() as stack:
            if overrides:
                stack.enter_context(override_settings(**overrides))
            bar = None
            if not no_progress:
                from tqdm import tqdm

                bar = stack.enter_context(tqdm(total=total, unit="search", desc="evaluate", leave=False,
                                               disable=None))
            try:
                results = evaluation.run(loaded, modes, k=k, weights=weights,
                                         progress=bar.update if bar is not None else None,
                                         corpus_roots=dict(corpus_root), relevant=relevant)
            except (evaluation.EvaluationError, InvalidParameter, StoreUnavailable) as error:
                raise CommandError(str(error)) from None
            except Exception as error:  # one line, never a traceback or a credential
                raise CommandError(f"evaluation failed: {describe_error(error)}") from None
            hybrid_weights = weights or dict(settings.SEARCH_WEIGHTS)  # read while the overrides hold
            pool_min = settings.SEARCH_POOL_MIN
            per_document = settings.SEARCH_MAX_CHUNKS_PER_DOCUMENT
            rrf_k = settings.SEARCH_RRF_K
            fusion = settings.SEARCH_FUSION
            rerank = (settings.SEARCH_RERANK_DEPTH, settings.SEARCH_RERANK_WINDOW)
        summaries = evaluation.report(results)
        if as_json:
            self.stdout.write(json.dumps(
                {"k": k, "modes": modes, "weights": hybrid_weights, "pool_min": pool_min,
                 "max_chunks_per_document": per_document, "rrf_k": rrf_k, "fusion": fusion,
                 "rerank_depth": rerank[0], "rerank_window": rerank[1], "results": _json_safe(summaries)}, indent=2))
        else:
            self.stdout.write(evaluation.table(summaries))
            self.stdout.write(f"k={k}; hybrid weights {_format(hybrid_weights)}; pool max(2k, {pool_min}); "
                              f"max chunks per document {per_document or 'unlimited'}; rrf k {rrf_k:g}; "
                              f"{fusion} fusion" + (f"; passage re-ranking of the first {rerank[0]} documents, "
                                                    f"windows of {rerank[1]} characters" if rerank[0] else ""))


    def _wait_for_index(self) -> None:
        try:
            coverage = vector_services.flush_and_wait_indexed(timeout=INDEX_WAIT_SECONDS)
        except (StoreUnavailable, VectorStoreError) as error:
            raise CommandError(str(error)) from None
        except Exception as error:  # one line, never a traceback or a credential
            raise CommandError(f"flushing the Milvus collection failed: {describe_error(error)}") from None
        self.stderr.write(f"Milvus: {coverage['rows']} rows sealed and indexed (waited {coverage['seconds']:g} s)")


def _json_safe(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    return value


def _format(weights: dict[str, float]) -> str:
    return ",".join(f"{source}={weight:g}" for source, weight in weights.items())

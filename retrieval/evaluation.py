"""Retrieval evaluation: question sets with known relevant documents, run through the search pipeline per mode.

An eval set is JSON Lines, one question a line:
    {"id": "django-001", "question": "...", "relevant": ["topics/db/queries.txt"], "corpus": "django"}
`relevant` lists source paths relative to the corpus root, as the ingester stores them in Document.source_path
when the corpus is ingested with `--id-prefix <corpus>`; they map to document ids through the ledger.

Metrics, per question (averaged over a set):
- hit@n: 1 if one of the first n returned chunks belongs to a relevant document, else 0.
- MRR: 1 / rank of the first relevant document in the returned list with documents de-duplicated (a document's
  rank is the position of its first chunk among distinct documents); 0 if none is returned.
- nDCG@10: binary gains over the first 10 distinct documents of the returned list; the ideal ranking puts
  all relevant documents first (at most 10).
The metric functions are pure; `run` is the part that searches (without logging Query rows).

Evaluation sets from feedback (`load_feedback_sets`): reviewed feedback promoted in the admin becomes
rag_data EvaluationCase rows, a question plus the chunks a reviewer marked relevant. They are scored with the same
metrics at document level: a returned chunk is a hit when its document is one of the relevant chunks' documents
(not only when it is the very chunk), as for the JSONL sets; chunk ids change when a document is re-ingested,
document ids do not.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SOURCES = ("vector", "graph", "keyword")
MODES = ("vector", "keyword", "graph", "hybrid")
SINGLE_SOURCE = {mode: {source: float(source == mode) for source in SOURCES} for mode in SOURCES}
HIT_DEPTHS = (1, 5)
NDCG_DEPTH = 10


class EvaluationError(Exception):
    """An eval set or the ledger is unusable; the message is one line saying what to do."""


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    relevant: tuple[str, ...]
    corpus: str


@dataclass
class EvalSet:
    name: str
    questions: list[Question]


# ---- pure metrics ---------------------------------------------------------------------------------------------

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


def mode_weights(mode: str, hybrid: dict[str, float] | None = None) -> dict[str, float] | None:
    """The search weights of a mode: one source at 1 and the others at 0, or for "hybrid" the given weights
    (None: the configured defaults, settings.SEARCH_WEIGHTS)."""
    if mode == "hybrid":
        return None if hybrid is None else dict(hybrid)
    if mode not in SINGLE_SOURCE:
        raise EvaluationError(f"unknown mode {mode!r}; use {', '.join(MODES)}")
    return dict(SINGLE_SOURCE[mode])


# ---- eval sets and the ledger ---------------------------------------------------------------------------------

def load_set(path: str | Path) -> EvalSet:
    """Read and check an eval set; errors name the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise EvaluationError(f"{path}: cannot read: {getattr(error, 'strerror', None) or error}") from None
    questions, seen = [], set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except ValueError as error:
            raise EvaluationError(f"{where}: not JSON: {error}") from None
        if not isinstance(row, dict):
            raise EvaluationError(f"{where}: expected a JSON object")
        for key in ("id", "question", "corpus"):
            if not isinstance(row.get(key), str) or not row[key].strip():
                raise EvaluationError(f"{where}: {key!r} must be non-empty text")
        relevant = row.get("relevant")
        if not isinstance(relevant, list) or not relevant or not all(isinstance(p, str) and p for p in relevant):
            raise EvaluationError(f"{where}: 'relevant' must be a non-empty list of paths")
        if row["id"] in seen:
            raise EvaluationError(f"{where}: duplicate id {row['id']!r}")
        seen.add(row["id"])
        questions.append(Question(row["id"], row["question"], tuple(relevant), row["corpus"]))
    if not questions:
        raise EvaluationError(f"{path}: no questions")
    name = path.name.removesuffix(".jsonl")
    return EvalSet(name=name, questions=questions)


def ingest_command(corpus: str, corpus_root: str | None = None) -> str:
    root = corpus_root or f".stack/eval-corpora/{corpus}"
    return f"python manage.py ingest {root} --id-prefix {corpus}"


def relevant_documents(questions: Sequence[Question], corpus_roots: dict[str, str] | None = None) \
        -> dict[str, set[str]]:
    """{question id: relevant document ids}, through the ledger: Document.source_path among the documents whose
    id starts with '<corpus>-' and that are complete. Raises EvaluationError naming the corpus to ingest when a
    relevant path is not there."""
    from rag_data.models import Document

    by_corpus: dict[str, set[str]] = {}
    for question in questions:
        by_corpus.setdefault(question.corpus, set()).update(question.relevant)
    paths: dict[tuple[str, str], str] = {}
    for corpus, wanted in sorted(by_corpus.items()):
        rows = Document.objects.filter(document_id__startswith=f"{corpus}-", source_path__in=sorted(wanted),
                                       status=Document.Status.COMPLETE).values_list("source_path", "document_id")
        found = {source_path: document_id for source_path, document_id in rows}
        missing = sorted(wanted - set(found))
        if missing:
            raise EvaluationError(
                f"corpus {corpus!r}: {len(missing)} of {len(wanted)} relevant document(s) are not in the ledger "
                f"(e.g. {missing[0]}); ingest the corpus: "
                f"{ingest_command(corpus, (corpus_roots or {}).get(corpus))}")
        paths.update({(corpus, p): d for p, d in found.items()})
    return {q.id: {paths[(q.corpus, p)] for p in q.relevant} for q in questions}


FEEDBACK_CORPUS = "feedback"


@dataclass
class FeedbackSets:
    sets: list[EvalSet]
    relevant: dict[str, set[str]]  # question id -> relevant document ids
    skipped: list[str]  # one line per reason a case was left out, with the count


def load_feedback_sets(set_name: str | None = None) -> FeedbackSets:
    """The EvaluationCases of one set (None: every set, one EvalSet each) as questions whose relevant documents
    are those of the chunks the reviewer marked relevant, kept only while they are complete in the ledger.

    Cases without relevant chunks (waiting for a reviewer) or whose documents are all gone are skipped and
    counted; raises EvaluationError (one line) when no case is left to run."""
    from rag_data.models import Document
    from rag_data.selectors import evaluation_cases

    cases = list(evaluation_cases(set_name).values_list("pk", "set_name", "query_text", "relevant_document_ids"))
    where = f"in the set {set_name!r}" if set_name else "in any set"
    if not cases:
        raise EvaluationError(f"no evaluation cases {where}; promote reviewed feedback in the admin "
                              "(Feedback -> 'Promote to evaluation set')")
    wanted = {document for *_, documents in cases for document in documents or []}
    complete = set(Document.objects.filter(document_id__in=sorted(wanted), status=Document.Status.COMPLETE)
                   .values_list("document_id", flat=True))
    sets: dict[str, EvalSet] = {}
    relevant: dict[str, set[str]] = {}
    waiting = gone = 0
    for pk, name, text, documents in cases:
        if not documents:
            waiting += 1
            continue
        present = [document for document in documents if document in complete]
        if not present:
            gone += 1
            continue
        question = Question(id=f"case-{pk}", question=text, relevant=tuple(present), corpus=FEEDBACK_CORPUS)
        sets.setdefault(name, EvalSet(name=name, questions=[])).questions.append(question)
        relevant[question.id] = set(present)
    skipped = []
    if waiting:
        skipped.append(f"{waiting} case(s) without relevant chunks (choose them in the admin: Evaluation cases)")
    if gone:
        skipped.append(f"{gone} case(s) whose relevant documents are no longer complete in the ledger")
    if not sets:
        raise EvaluationError(f"no evaluation case to run {where}: skipped {'; '.join(skipped)}")
    return FeedbackSets(sets=list(sets.values()), relevant=relevant, skipped=skipped)


# ---- running ----------------------------------------------------------------------------------------------------

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

"""Evaluation sets: JSON Lines files of questions with their relevant source paths, mapped to document ids through
the ledger, and the sets promoted from reviewed feedback (rag_data EvaluationCase rows).

An eval set is JSON Lines, one question a line:
    {"id": "django-001", "question": "...", "relevant": ["topics/db/queries.txt"], "corpus": "django"}
`relevant` lists source paths relative to the corpus root, as the ingester stores them in Document.source_path
when the corpus is ingested with `--id-prefix <corpus>`; they map to document ids through the ledger.

Evaluation sets from feedback (`load_feedback_sets`): a question plus the chunks a reviewer marked relevant, scored
at document level: a returned chunk is a hit when its document is one of the relevant chunks' documents (not only
when it is the very chunk), as for the JSONL sets; chunk ids change when a document is re-ingested, document ids
do not.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path


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


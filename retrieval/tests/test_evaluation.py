"""The evaluation harness: the metric functions (pure) and `manage.py evaluate` end to end on real engines."""

from __future__ import annotations

import json
import math

import pytest
from django.core.management import CommandError, call_command

from retrieval import evaluation as ev
from retrieval.fusion import FusedHit, cap_per_group

R = {"good", "also"}


def test_hit_at_counts_returned_chunks_not_distinct_documents():
    ranked = ["x", "x", "x", "x", "x", "good"]
    assert ev.hit_at(ranked, R, 5) == 0.0
    assert ev.hit_at(ranked, R, 6) == 1.0
    assert ev.hit_at(["good"], R, 1) == 1.0
    assert ev.hit_at([], R, 5) == 0.0


def test_reciprocal_rank_uses_distinct_documents():
    assert ev.first_relevant_rank(["x", "x", "y", "good"], R) == 3  # x, y, good
    assert ev.reciprocal_rank(["x", "x", "y", "good"], R) == pytest.approx(1 / 3)
    assert ev.reciprocal_rank(["good", "x"], R) == 1.0
    assert ev.reciprocal_rank(["x", "y"], R) == 0.0


def test_ndcg_is_binary_over_distinct_documents_and_one_for_an_ideal_ranking():
    assert ev.ndcg_at(["good", "also", "x"], R) == pytest.approx(1.0)
    assert ev.ndcg_at(["good", "good", "also"], R) == pytest.approx(1.0)  # a repeated document counts once
    expected = (1 / math.log2(3)) / (1 + 1 / math.log2(3))
    assert ev.ndcg_at(["x", "good"], R) == pytest.approx(expected)
    assert ev.ndcg_at(["x"] * 3, R) == 0.0
    assert ev.ndcg_at([f"d{i}" for i in range(10)] + ["good"], R, 10) == 0.0  # beyond the depth
    assert ev.ndcg_at(["good"], {"good"}) == 1.0


def test_percentile_interpolates_and_summary_averages():
    assert ev.percentile([1, 2, 3, 4], 50) == pytest.approx(2.5)
    assert ev.percentile([5], 95) == 5
    assert math.isnan(ev.percentile([], 50))
    assert ev.percentile(list(range(101)), 95) == pytest.approx(95)
    summary = ev.summarize([ev.question_metrics(["good"], R), ev.question_metrics(["x", "also"], R)], [10, 20])
    assert summary["hit@1"] == 0.5 and summary["hit@5"] == 1.0
    assert summary["mrr"] == pytest.approx(0.75)
    assert summary["questions"] == 2 and summary["p50_ms"] == pytest.approx(15)


def test_modes_are_weights():
    assert ev.mode_weights("keyword") == {"vector": 0.0, "graph": 0.0, "keyword": 1.0}
    assert ev.mode_weights("hybrid") is None
    assert ev.mode_weights("hybrid", {"vector": 2.0}) == {"vector": 2.0}
    with pytest.raises(ev.EvaluationError):
        ev.mode_weights("bm25")


def test_load_set_names_the_bad_line(tmp_path):
    good = {"id": "t-1", "question": "q?", "relevant": ["a.md"], "corpus": "t"}
    path = tmp_path / "t.dev.jsonl"
    path.write_text(json.dumps(good) + "\n\n" + json.dumps({**good, "relevant": []}) + "\n")
    with pytest.raises(ev.EvaluationError, match=r"t\.dev\.jsonl:3: 'relevant'"):
        ev.load_set(path)
    path.write_text(json.dumps(good) + "\n")
    loaded = ev.load_set(path)
    assert loaded.name == "t.dev" and loaded.questions[0].relevant == ("a.md",)


def test_cap_per_group_keeps_order_and_the_first_n_of_each_group():
    hits = [FusedHit(c, 1.0) for c in ["a1", "a2", "b1", "a3", "c1", "b2"]]
    group = {c: c[0] for c in ["a1", "a2", "b1", "a3", "c1", "b2"]}
    assert [h.chunk_id for h in cap_per_group(hits, group, 1)] == ["a1", "b1", "c1"]
    assert [h.chunk_id for h in cap_per_group(hits, group, 2, limit=4)] == ["a1", "a2", "b1", "c1"]
    assert [h.chunk_id for h in cap_per_group(hits, group, 0, limit=2)] == ["a1", "a2"]


DOCS = {
    "kilns.md": "# Kilns\n\nA kiln fires pottery glaze at high temperature; the firing schedule ramps slowly.\n",
    "castles.md": "# Castles\n\nMedieval castles had moats, keeps and curtain walls against sieges.\n",
    "bees.md": "# Bees\n\nBee keeping: hives, honey frames and queen bees in spring.\n",
    "sub/tides.md": "# Tides\n\nThe moon pulls the oceans: spring tides and neap tides follow its phases.\n",
}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_evaluate_command_end_to_end(milvus_backend, neo4j_store, tmp_path, capsys):
    from ingestion.services import ingest_paths
    from rag_data.models import Chunk, Query

    root = tmp_path / "tiny"
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert ingest_paths([root], id_prefix="tiny").counts()["created"] == len(DOCS)
    questions = [
        {"id": "tiny-1", "question": "glaze firing temperature in a kiln", "relevant": ["kilns.md"]},
        {"id": "tiny-2", "question": "moats and curtain walls", "relevant": ["castles.md"]},
        {"id": "tiny-3", "question": "neap tides and the moon", "relevant": ["sub/tides.md", "bees.md"]},
    ]
    eval_set = tmp_path / "tiny.dev.jsonl"
    eval_set.write_text("".join(json.dumps({**q, "corpus": "tiny"}) + "\n" for q in questions))

    call_command("evaluate", str(eval_set), "--json", "--k", "3", "--weights", "vector=1,graph=0.5,keyword=1",
                 "--max-chunks-per-document", "1", "--no-progress")
    captured = capsys.readouterr()
    chunks = Chunk.objects.count()
    assert captured.err.startswith(f"Milvus: {chunks} rows sealed and indexed (waited ")  # before any search
    report = json.loads(captured.out)
    results = report["results"]["tiny.dev"]
    assert set(results) == {"vector", "keyword", "graph", "hybrid"}
    assert results["keyword"]["hit@1"] == 1.0 and results["keyword"]["mrr"] == 1.0  # every question's words
    assert results["hybrid"]["hit@5"] == 1.0
    for summary in results.values():
        assert summary["questions"] == 3 and summary["p95_ms"] >= summary["p50_ms"] > 0
        assert 0 <= summary["ndcg@10"] <= 1
    assert report["weights"] == {"vector": 1.0, "graph": 0.5, "keyword": 1.0}
    assert report["fusion"] == "document" and report["pool_min"] == 20
    assert not Query.objects.exists()  # evaluation runs are not logged

    call_command("evaluate", str(eval_set), "--modes", "keyword,hybrid", "--no-progress", "--fusion", "chunk",
                 "--rrf-k", "60")
    table = capsys.readouterr().out
    assert "| tiny.dev | keyword | 3 | 1.000 |" in table and "| graph |" not in table
    assert table.rstrip().endswith("; rrf k 60; chunk fusion")
    with pytest.raises(CommandError, match=r"^--rrf-k must be from 0 to 1000, got -1$"):
        call_command("evaluate", str(eval_set), "--rrf-k", "-1", "--no-progress")
    call_command("evaluate", str(eval_set), "--modes", "hybrid", "--no-progress", "--rerank-depth", "3")
    table = capsys.readouterr().out
    assert "| tiny.dev | hybrid | 3 |" in table
    assert table.rstrip().endswith("; passage re-ranking of the first 3 documents, windows of 250 characters")
    assert report["rerank_depth"] == 0 and report["rerank_window"] == 250  # off by default
    with pytest.raises(CommandError, match=r"^--rerank-depth must be from 0 to 100, got 101$"):
        call_command("evaluate", str(eval_set), "--rerank-depth", "101", "--no-progress")

    other = tmp_path / "other.dev.jsonl"
    other.write_text(json.dumps({"id": "o-1", "question": "q", "relevant": ["x.md"], "corpus": "other"}) + "\n")
    with pytest.raises(CommandError, match=r"^corpus 'other': 1 of 1 relevant document\(s\) are not in the ledger "
                                           r"\(e\.g\. x\.md\); ingest the corpus: python manage\.py ingest "
                                           r"\.stack/eval-corpora/other --id-prefix other$"):
        call_command("evaluate", str(other), "--no-progress")
    with pytest.raises(CommandError, match="^--modes"):
        call_command("evaluate", str(eval_set), "--modes", "bm25")


# ---- evaluation sets from feedback --------------------------------------------------------------------------

def _promote(question: str, chunk_id: str, document_id: str, rating: int, user, *, set_name="feedback",
             relevant=None):
    """A logged query with one rated result, reviewed and promoted as the admin does it."""
    from rag_data import services
    from rag_data.models import Feedback

    query = services.record_query(text=question, latency_ms=5.0, results=[
        {"chunk_id": chunk_id, "document_id": document_id, "score": 0.5, "sources": ["vector"]}])
    feedback = services.record_feedback(query_id=query.id, rating=rating, chunk_id=chunk_id)
    services.mark_feedback_reviewed(Feedback.objects.filter(pk=feedback.pk), user)
    return services.promote_feedback([feedback.pk], relevant_chunk_ids=relevant, set_name=set_name, user=user)


@pytest.mark.integration
@pytest.mark.django_db
def test_load_feedback_sets_skips_waiting_and_vanished_cases(make_document, make_chunk, django_user_model):
    from rag_data.models import Document, EvaluationCase

    user = django_user_model.objects.create_user("rev", password="pw-rev-123")
    with pytest.raises(ev.EvaluationError, match=r"^no evaluation cases in any set; promote reviewed feedback"):
        ev.load_feedback_sets()
    done = dict(status="complete", in_postgres=True, in_milvus=True, in_neo4j=True)
    kept = make_chunk(make_document("kept", **done), 0, "kept text")
    gone = make_chunk(make_document("gone", **done), 0, "gone text")
    _promote("question one", kept.chunk_id, "kept", 1, user)
    _promote("question two", gone.chunk_id, "gone", 1, user, set_name="other")
    _promote("question three", kept.chunk_id, "kept", -1, user)  # thumbs down: waits for a reviewer
    Document.objects.filter(document_id="gone").update(status="deleting")

    loaded = ev.load_feedback_sets()
    assert [(s.name, [q.question for q in s.questions]) for s in loaded.sets] == [("feedback", ["question one"])]
    case = EvaluationCase.objects.get(query_text="question one")
    assert loaded.relevant == {f"case-{case.pk}": {"kept"}}
    assert loaded.skipped == ["1 case(s) without relevant chunks (choose them in the admin: Evaluation cases)",
                              "1 case(s) whose relevant documents are no longer complete in the ledger"]
    with pytest.raises(ev.EvaluationError, match=r"^no evaluation case to run in the set 'other': skipped 1 case"):
        ev.load_feedback_sets("other")
    with pytest.raises(ev.EvaluationError, match=r"^no evaluation cases in the set 'nope'"):
        ev.load_feedback_sets("nope")


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_evaluate_from_feedback_end_to_end(milvus_backend, neo4j_store, tmp_path, capsys, django_user_model):
    from ingestion.services import ingest_paths
    from rag_data.models import Chunk, Query

    root = tmp_path / "tiny"
    for name, text in DOCS.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    assert ingest_paths([root], id_prefix="tiny").counts()["created"] == len(DOCS)
    user = django_user_model.objects.create_user("rev", password="pw-rev-123")
    chunk = {c.document.source_path: c for c in Chunk.objects.select_related("document")}

    with pytest.raises(CommandError, match=r"^no evaluation cases in any set; promote reviewed feedback in the "
                                           r"admin \(Feedback -> 'Promote to evaluation set'\)$"):
        call_command("evaluate", "--from-feedback", "--no-progress")

    kilns, castles, tides = chunk["kilns.md"], chunk["castles.md"], chunk["sub/tides.md"]
    _promote("glaze firing temperature in a kiln", kilns.chunk_id, kilns.document.document_id, 1, user)
    _promote("moats and curtain walls", castles.chunk_id, castles.document.document_id, 1, user)
    # A thumbs-down on the wrong chunk, with the reviewer's choice of the right one.
    _promote("neap tides and the moon", castles.chunk_id, castles.document.document_id, -1, user,
             relevant=[tides.chunk_id])
    _promote("bees in spring", chunk["bees.md"].chunk_id, "tiny-bees", -1, user)  # waits: skipped
    _promote("glaze firing temperature in a kiln", castles.chunk_id, castles.document.document_id, 1, user,
             set_name="wrong-answers")

    logged = Query.objects.count()
    call_command("evaluate", "--from-feedback", "--json", "--k", "3", "--max-chunks-per-document", "1",
                 "--no-progress", "--no-wait-index")
    captured = capsys.readouterr()
    assert "skipped 1 case(s) without relevant chunks" in captured.err and "Milvus:" not in captured.err
    report = json.loads(captured.out)["results"]
    assert set(report) == {"feedback", "wrong-answers", "all"}
    assert set(report["feedback"]) == {"vector", "keyword", "graph", "hybrid"}
    assert report["feedback"]["keyword"]["questions"] == 3
    assert report["feedback"]["keyword"]["hit@1"] == 1.0 and report["feedback"]["keyword"]["mrr"] == 1.0
    assert report["wrong-answers"]["keyword"]["hit@1"] == 0.0  # "relevant" is the castle page there
    assert report["all"]["keyword"]["questions"] == 4
    assert Query.objects.count() == logged  # evaluation runs are not logged

    call_command("evaluate", "--from-feedback", "--set", "feedback", "--modes", "keyword,hybrid", "--no-progress")
    table = capsys.readouterr().out
    assert "| feedback | keyword | 3 | 1.000 |" in table and "wrong-answers" not in table

    with pytest.raises(CommandError, match=r"^no evaluation cases in the set 'missing'"):
        call_command("evaluate", "--from-feedback", "--set", "missing", "--no-progress")
    with pytest.raises(CommandError, match="^give eval set files or --from-feedback, not both$"):
        call_command("evaluate", "x.jsonl", "--from-feedback")
    with pytest.raises(CommandError, match="^--set names an evaluation set from feedback"):
        call_command("evaluate", "x.jsonl", "--set", "feedback")
    with pytest.raises(CommandError, match=r"^give one or more eval set files"):
        call_command("evaluate")

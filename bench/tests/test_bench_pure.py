"""The pure parts of the benchmarks: corpus determinism and exact size, percentiles, the report's shape.

No timing is asserted here; the figures come from `python -m bench` (BENCHMARKS.md).
"""

from __future__ import annotations

import datetime
import json

import pytest

from bench import corpus, report
from bench.stats import percentile, ratio, summary
from ingestion.chunking import chunk_text


def test_corpus_is_deterministic_and_has_exactly_the_chunks_asked_for():
    first = list(corpus.documents(300, size=1000, overlap=150))
    again = list(corpus.documents(300, size=1000, overlap=150))
    assert first == again
    assert sum(count for _, _, count in first) == 300
    for _, text, count in first:
        assert len(chunk_text(text, 1000, 150)) == count


@pytest.mark.parametrize("size,overlap", [(200, 0), (500, 100), (2000, 300)])
def test_corpus_size_is_exact_for_other_chunk_settings(size, overlap):
    docs = list(corpus.documents(57, size=size, overlap=overlap))
    assert sum(len(chunk_text(text, size, overlap)) for _, text, _ in docs) == 57


def test_another_seed_gives_another_corpus_and_topics_recur():
    assert list(corpus.documents(50, size=1000, overlap=150, seed=1)) != \
        list(corpus.documents(50, size=1000, overlap=150, seed=2))
    vocab = corpus.vocabulary()
    words = [w for topic in vocab.topics for w in topic] + vocab.common
    assert len(words) == len(set(words))  # made-up words, each in one place
    assert corpus.queries(5) == corpus.queries(5)


def test_generate_writes_files_and_reuses_a_matching_manifest(tmp_path):
    manifest = corpus.generate(tmp_path / "c", 40, size=1000, overlap=150)
    assert manifest["chunks"] == 40 and manifest["files"] == len(list((tmp_path / "c").rglob("*.txt")))
    assert not list((tmp_path / "c").rglob("*.json"))  # ingest would report a .json inside as skipped
    assert corpus.generate(tmp_path / "c", 40, size=1000, overlap=150) == manifest


def test_percentile_interpolates_like_numpy():
    values = [5, 1, 4, 2, 3]
    assert percentile(values, 0) == 1 and percentile(values, 100) == 5 and percentile(values, 50) == 3
    assert percentile([1, 2], 95) == pytest.approx(1.95)
    assert percentile([7], 99) == 7
    with pytest.raises(ValueError):
        percentile([], 50)
    with pytest.raises(ValueError):
        percentile([1], 101)


def test_summary_and_ratio():
    assert summary([]) == {"n": 0}
    stats = summary([float(v) for v in range(1, 101)])
    assert stats["n"] == 100 and stats["p50"] == 50.5 and stats["max"] == 100
    assert ratio(1, 0) is None and ratio(3, 4) == 0.75


def _results():
    return {
        "ingest": {"sizes": [{"chunks": 2000, "raw": [{"store": "Milvus", "chunks_per_s": 9000.0}],
                              "project": {"chunks_per_s": 40.0, "write_path_chunks_per_s": 42.0, "seconds": 50.0,
                                          "steps_s": {"embed": 1.0}},
                              "reingest_unchanged": {"chunks_per_s": 9000.0}, "ratio_vs_slowest_raw": 0.004,
                              "peak_rss_mb": 200.0}]},
        "search": {"queries": 3, "modes": {m: {"project_ms": summary([1.0, 2.0]), "raw_sum_ms": summary([1.0, 2.0]),
                                               "p95_ratio": 1.0} for m in ("vector", "vector+graph", "hybrid")},
                   "recall": {"k": 10, "mean": 0.97, "min": 0.9}},
        "health": {"timeout_s": 3.0, "all_up": summary([5.0, 6.0]),
                   "paused": {"milvus": {"first_ms": 3001.0, "first_status": 503, "second_ms": 2.0,
                                         "second_status": 503, "within_timeout": True}}},
        "init": {"first_s": 5.0, "repeat_s": summary([1500.0]), "repeat_max_s": 1.5, "python_django_startup_s": 1.0},
    }


def test_report_document_is_json_with_machine_versions_and_targets(tmp_path):
    now = datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc)
    doc = report.document(args={"quick": True}, machine_facts={"cpu_count": 2, "cpu_model": "x", "memory_gb": 1},
                          versions_found={"packages": {}, "servers": {}}, settings={}, results=_results(),
                          started=now, finished=now)
    assert {"schema_version", "machine", "versions", "settings", "results", "targets", "quick"} <= set(doc)
    assert doc["targets"]["ingest_ratio_2000"]["met"] is False
    assert doc["targets"]["recall_at_10"]["met"] is True
    assert doc["targets"]["health_paused_within_timeout"]["met"] is True
    assert doc["targets"]["init_repeat_s"]["met"] is True
    written = report.write(doc, tmp_path / "out" / "r.json")
    assert json.loads(written.read_text())["results"]["search"]["recall"]["mean"] == 0.97
    text = report.table(doc)
    assert "Ingest" in text and "hybrid" in text and "QUICK" in text and "init_stores" in text


def test_machine_facts_are_plain_values():
    facts = report.machine()
    assert facts["cpu_count"] >= 1 and facts["python"]
    json.dumps(facts)


def test_search_targets_of_issues_11_and_12_and_rounds_combined():
    from bench.search import combine

    def samples(project, raw, calls, stages):
        return {"project": project, "raw": raw, "calls": calls, "stages": stages}

    rounds = [{"vector": samples([10.0, 12.0], [9.0, 10.0], {"pg_log": [1.0, 2.0]}, {"hydrate": [1.0, 1.5]}),
               "vector+graph": samples([20.0], [18.0], {"neo4j_concepts": [4.0], "neo4j_related": [5.0]},
                                       {"graph": [6.0]}),
               "hybrid": samples([40.0, 60.0], [50.0, 70.0], {}, {"keyword": [10.0, 30.0]})}
              for _ in range(2)]
    modes = combine(rounds)
    assert modes["vector"]["p95_ratio_per_round"] == [1.196, 1.196]  # 11.9 / 9.95
    assert modes["vector"]["project_ms"]["n"] == 4 and modes["vector"]["raw_calls_ms"]["pg_log"]["p50"] == 1.5
    checks = report.targets({"search": {"modes": modes, "recall": {"mean": 1.0}}})
    assert checks["vector_p95_ratio"]["met"] and checks["hybrid_p50_ms"]["value"] == 50.0
    assert not checks["keyword_stage_p95_ms"]["met"] and checks["keyword_stage_p95_ms"]["value"] == 30.0
    assert checks["graph_cypher_p95_ms"] == {"value": 5.0, "target": "<= 20", "met": True}


def test_keyword_plan_figures_add_up_the_heap_scans_and_the_buffers():
    from bench.keyword import plan_figures

    plan = {"Planning Time": 0.5, "Execution Time": 2.0, "Plan": {
        "Node Type": "Limit", "Actual Rows": 20, "Shared Hit Blocks": 40, "Shared Read Blocks": 2, "Plans": [
            {"Node Type": "Append", "Actual Rows": 30, "Plans": [
                {"Node Type": "Bitmap Heap Scan", "Actual Rows": 10, "Plans": [
                    {"Node Type": "Bitmap Index Scan", "Actual Rows": 99}]},
                {"Node Type": "Bitmap Heap Scan", "Actual Rows": 20}]}]}}
    assert plan_figures(plan) == {"ms": 2.5, "heap_rows": 30, "buffers": 42}

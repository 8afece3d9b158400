"""The keyword leg on a real PostgreSQL: idf-weighted rank, the cap on ranked candidates (chunks holding two of the
words first), web-search syntax, and SQL that is built once with the user's text only in parameters."""

from __future__ import annotations

import pytest
from django.db import connection

from rag_data.models import Chunk, Document
from retrieval import keyword_text, selectors

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _chunks(*rows: tuple[str, str]) -> None:
    """Chunks in this order (their physical order in the table), one complete document each."""
    for chunk_id, text in rows:
        document = Document.objects.create(document_id=f"doc-{chunk_id}", source_path=f"{chunk_id}.md",
                                           content_hash="a" * 64, status="complete", in_postgres=True,
                                           in_milvus=True, in_neo4j=True)
        Chunk.objects.create(chunk_id=chunk_id, document=document, ordinal=0, text=text, content_hash="b" * 64)


def _analyzed() -> None:
    """PostgreSQL's statistics for the rows written in this test (ANALYZE runs inside the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE rag_data_chunk")
    selectors.TERM_STATS.clear()


@pytest.fixture(autouse=True)
def _fresh_statistics():
    selectors.TERM_STATS.clear()
    yield
    selectors.TERM_STATS.clear()


def test_a_rare_word_outweighs_a_common_one_repeated(settings, monkeypatch):
    settings.SEARCH_KEYWORD_CANDIDATES = 0  # every word finds candidates: the rank alone decides
    _chunks(("common", "garden garden garden path"), ("rare", "otter river bank"),
            *((f"filler-{n}", f"garden flowers number {n}") for n in range(20)))
    _analyzed()
    fractions, rows, _ = selectors.word_fractions(["garden", "otter"])
    assert fractions["garden"] > 0.9 and fractions["otter"] < 0.1 and rows == 22
    assert selectors.keyword_ranking("garden otter", 3)[0] == "rare"
    monkeypatch.setattr(selectors, "IDF_RANK", False)  # every word alike: the repeated common word wins
    assert selectors.keyword_ranking("garden otter", 3)[0] == "common"


def test_without_statistics_every_word_weighs_the_same_and_nothing_fails(settings, monkeypatch):
    settings.SEARCH_KEYWORD_CANDIDATES = 0
    _chunks(("common", "garden garden garden path"), ("rare", "otter river bank"))
    # A table never analyzed: pg_stats has no row for it, so nothing is known to be common.
    monkeypatch.setattr(selectors.TERM_STATS, "get", lambda: ({}, 0.0, 0.0))
    assert selectors.word_fractions(["garden", "otter", "the"])[0] == {"garden": 0.0, "otter": 0.0}
    assert selectors.keyword_ranking("garden otter", 5) == ["common", "rare"]


def test_the_ranked_candidates_are_capped_and_chunks_with_two_words_come_first(settings):
    settings.SEARCH_KEYWORD_CANDIDATES = 0
    settings.SEARCH_KEYWORD_RANKED = 3
    # Five chunks holding one word are stored before the one chunk that holds both.
    _chunks(*((f"one-{n}", f"lantern number {n}") for n in range(5)), ("both", "lantern by the harbor"))
    _analyzed()
    found = selectors.keyword_ranking("lantern harbor", 20)
    assert found[0] == "both"
    assert len(found) == 3  # at most SEARCH_KEYWORD_RANKED candidates are ranked
    settings.SEARCH_KEYWORD_RANKED = 0  # 0: every candidate
    assert len(selectors.keyword_ranking("lantern harbor", 20)) == 6


def test_without_statistics_every_match_is_ranked_not_the_first_in_table_order(settings, monkeypatch):
    """Right after a first bulk ingest, before any ANALYZE, the cap would keep whichever matches the table holds
    first (the dev sets' keyword hit@5 fell from 0.82 to 0.29): with no statistics nothing is capped."""
    settings.SEARCH_KEYWORD_CANDIDATES = 0
    settings.SEARCH_KEYWORD_RANKED = 2
    _chunks(*((f"one-{n}", f"lantern number {n}") for n in range(4)), ("best", "harbor lantern, the harbor lantern"))
    monkeypatch.setattr(selectors.TERM_STATS, "get", lambda: ({}, 0.0, 0.0))
    found = selectors.keyword_ranking("lantern harbor", 20)
    assert found[0] == "best" and len(found) == 5


def test_a_large_write_refreshes_the_statistics_a_small_one_leaves_them_to_autovacuum():
    from rag_data.services import refresh_search_statistics

    _chunks(*((f"c-{n}", f"lantern number {n}") for n in range(30)))
    assert refresh_search_statistics(0) is False
    assert refresh_search_statistics(30) is True  # no statistics yet: analyzed whatever the share
    selectors.TERM_STATS.clear()
    assert selectors.word_fractions(["lantern"])[0]["lantern"] > 0.9
    assert refresh_search_statistics(1) is False  # 1 of 30 rows: under the share, autovacuum's job
    assert refresh_search_statistics(30) is True


def test_web_search_syntax_still_works(settings):
    settings.SEARCH_KEYWORD_RANKED = 2  # the cap applies, the query is the user's own
    _chunks(("phrase", "lantern harbor tour"), ("apart", "a harbor with a lantern"), ("lamp", "a lantern alone"))
    assert selectors.keyword_ranking('"lantern harbor"', 10) == ["phrase"]
    assert selectors.keyword_ranking("lantern -harbor", 10) == ["lamp"]
    assert set(selectors.keyword_ranking("tour or alone", 10)) == {"phrase", "lamp"}


def test_the_sql_is_built_once_and_the_text_is_only_a_parameter():
    _chunks(("plain", "nothing special here"))
    first_sql, first = selectors.keyword_sql("otters and rivers", 5)
    second_sql, second = selectors.keyword_sql("quite different words entirely", 7)
    assert first_sql is second_sql  # one string, built once
    assert "otter" not in first_sql and "river" not in first_sql
    assert first["query"] == "otters or and or rivers" and first["limit"] == 5
    for hostile in ("'); DROP TABLE rag_data_chunk; --", "%(limit)s", "a & b | !c <-> d:*", '"unclosed'):
        assert selectors.keyword_ranking(hostile, 5) == []
    assert Chunk.objects.count() == 1
    assert selectors.keyword_sql("the and of", 5) is not None  # stop words only: a valid query matching nothing
    assert selectors.keyword_ranking("the and of", 5) == []
    assert selectors.keyword_sql("  ", 5) is None and selectors.keyword_sql("...", 5) is None


def test_query_texts():
    assert keyword_text.any_of(["a", "b"]) == "a or b"
    assert keyword_text.two_of(["a", "b", "c"]) == "a b or a c or b c"
    assert keyword_text.two_of(["a"]) == "" and keyword_text.two_of([]) == ""
    assert keyword_text.two_of([f"w{n}" for n in range(20)]).count(" or ") == 27  # pairs of the first 8 words
    assert keyword_text.idf(0.5) == pytest.approx(0.693, abs=1e-3)
    assert keyword_text.idf(0.01) > keyword_text.idf(0.1) > keyword_text.idf(0.9) > keyword_text.idf(1.0) == 0.0
    assert keyword_text.idf(0.0) > keyword_text.idf(0.01)
    assert keyword_text.uses_websearch_syntax('"a b"') and keyword_text.uses_websearch_syntax("a -b")
    assert keyword_text.uses_websearch_syntax("a or b") and not keyword_text.uses_websearch_syntax("ordinary words")

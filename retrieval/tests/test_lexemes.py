"""The keyword stage asks PostgreSQL for a word's lexemes once per process, not on every search."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from retrieval import selectors

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_word_lexemes_are_looked_up_once_per_word(monkeypatch):
    monkeypatch.setattr(selectors, "_LEXEMES", {})
    with CaptureQueriesContext(connection) as first:
        assert selectors.word_lexemes(["running", "the", "running"]) == {"running": ["run"], "the": []}
    assert len(first.captured_queries) == 1
    with CaptureQueriesContext(connection) as again:
        assert selectors.word_lexemes(["the", "running"]) == {"the": [], "running": ["run"]}
        assert selectors.word_lexemes(["graphs", "running"]) == {"graphs": ["graph"], "running": ["run"]}
    assert len(again.captured_queries) == 1  # only "graphs" was new


def test_the_lexeme_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(selectors, "_LEXEMES", {})
    monkeypatch.setattr(selectors, "LEXEME_CACHE_MAX", 2)
    selectors.word_lexemes(["alpha", "beta"])
    selectors.word_lexemes(["gamma"])
    assert set(selectors._LEXEMES) == {"gamma"}

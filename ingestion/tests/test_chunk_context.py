"""Chunk.context (document title and section headings) on the real engines: stored, embedded, weighted A in the
keyword tsvector; the chunk text users see is unchanged."""

import pytest

from ingestion import store_sync
from ingestion.services import ingest_paths
from ingestion.sources import context_for
from ingestion.tests.support import stores  # noqa: F401 (fixture)
from rag_data.models import Chunk
from retrieval.selectors import keyword_ranking
from vectorstore import selectors as vector_selectors

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FIXTURES = """.. _fixtures:

How to use fixtures
===================

Declare what a test needs as its arguments, and pytest hands each one over when the test starts.

Teardown
--------

Code after the yield statement runs when the test is done, in the reverse order of set-up, even when
the test failed; a finalizer registered with addfinalizer works the same way.
"""

OTHER = """Notes
=====

Some fixtures mentioned in passing, with other words around them: a fixture here, fixtures there.
"""


def test_context_is_stored_embedded_and_weighted(stores, tmp_path, settings):  # noqa: F811
    settings.CHUNK_SIZE, settings.CHUNK_OVERLAP = 200, 0
    (tmp_path / "fixtures.rst").write_text(FIXTURES)
    (tmp_path / "notes.txt").write_text(OTHER)
    assert not ingest_paths([tmp_path]).failed
    chunks = {c.context: c for c in Chunk.objects.filter(document__source_path__endswith="fixtures.rst")}
    assert set(chunks) == {"How to use fixtures", "How to use fixtures › Teardown"}
    teardown = chunks["How to use fixtures › Teardown"]
    assert teardown.text.startswith("Code after the yield")  # what users see is the source text, untouched

    # The keyword leg finds a chunk by its page title, which its own text does not hold ...
    assert "fixture" not in teardown.text.lower()
    assert teardown.chunk_id in keyword_ranking("fixtures", 10)
    # ... and a title/heading word (weight A) outranks the same word in another page's body (weight B).
    assert keyword_ranking("fixtures", 10)[0] in {c.chunk_id for c in chunks.values()}

    # Milvus holds the vector of context + text.
    vector = store_sync.embed([store_sync.embedding_text(teardown)])[0]
    assert vector_selectors.search(vector, k=1)[0]["chunk_id"] == teardown.chunk_id

    # A document whose stored context is stale (ingested before contexts existed) is rewritten, not skipped.
    Chunk.objects.filter(chunk_id=teardown.chunk_id).update(context="")
    report = ingest_paths([tmp_path])
    assert len(report.updated) == 1 and len(report.unchanged) == 1
    assert Chunk.objects.get(chunk_id=teardown.chunk_id).context == "How to use fixtures › Teardown"


def test_context_for():
    assert context_for("Guide", ("Guide", "Install")) == "Guide › Install"
    assert context_for("", ()) == "" and context_for(" T ", ("", "A")) == "T › A"

"""Factories for rag_data tests; every row goes through the services, as production writes do."""

from __future__ import annotations

import hashlib
import itertools

import pytest

from rag_data import services
from rag_data.models import Chunk, Document

_counter = itertools.count(1)


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def make_query():
    def _make(text="how do graphs help retrieval?", results=None, session=None, **extra):
        if results is None:
            results = [
                {"chunk_id": "doc-a:0", "document_id": "doc-a", "score": 0.91, "sources": ["vector", "graph"]},
                {"chunk_id": "doc-b:3", "document_id": "doc-b", "score": 0.42, "sources": ["keyword"]},
            ]
        extra.setdefault("latency_ms", 12.5)
        return services.record_query(text=text, results=results, session=session, **extra)

    return _make


@pytest.fixture
def make_feedback(make_query):
    def _make(rating=1, chunk_id=None, comment="", query=None, query_text=None):
        if query is None:
            query = make_query(text=query_text or f"query number {next(_counter)}")
        return services.record_feedback(query.id, rating, chunk_id=chunk_id, comment=comment)

    return _make


@pytest.fixture
def make_document():
    def _make(document_id=None, **fields):
        document_id = document_id or f"doc-{next(_counter)}"
        fields.setdefault("source_path", f"corpus/{document_id}.md")
        fields.setdefault("content_hash", sha256(document_id))
        return Document.objects.create(document_id=document_id, **fields)

    return _make


@pytest.fixture
def make_chunk():
    def _make(document, ordinal, text):
        return Chunk.objects.create(
            chunk_id=f"{document.document_id}:{ordinal}", document=document, ordinal=ordinal,
            text=text, content_hash=sha256(text),
        )

    return _make


@pytest.fixture
def stub():
    """A local OpenAI-compatible HTTP stub (embeddings, chat completions): not a store."""
    from rag_data.tests.httpstub import StubServer

    with StubServer() as server:
        yield server


@pytest.fixture
def fast_retries(settings):
    settings.STORE_RETRY_ATTEMPTS = 3
    settings.STORE_RETRY_INITIAL_WAIT = 0
    settings.STORE_RETRY_MAX_WAIT = 0

"""Search worker threads keep their PostgreSQL connections between searches: end them after each test, so that
the test database can be flushed and dropped (retrieval.pipeline.shutdown_workers)."""

import pytest


@pytest.fixture(autouse=True)
def _search_workers_closed():
    yield
    from retrieval import pipeline

    pipeline.shutdown_workers()

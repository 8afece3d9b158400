"""Entry points for spawned worker processes: no Django import at module level (the child sets it up)."""

from __future__ import annotations

import os


def ingest_and_search(env: dict, corpus: str, prefix: str, searches: int, out) -> None:
    """A separate interpreter: the parent's settings through the environment, then ingest + search."""
    os.environ.update(env)
    import django

    django.setup()
    from retrieval import pipeline
    from ingestion.services import ingest_paths

    try:
        report = ingest_paths([corpus], id_prefix=prefix)
        ids = [str(pipeline.search("graph storage", k=5, hops=1).query_id) for _ in range(searches)]
        out.put({"failed": report.failed, "query_ids": ids})
    except Exception as error:  # reported to the parent, which fails the test
        out.put({"error": repr(error)})

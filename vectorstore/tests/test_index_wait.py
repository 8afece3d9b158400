"""Flushing and waiting for the vector index (what `evaluate` does first), on Milvus standalone and Milvus Lite."""

import pytest
from django.conf import settings

from vectorstore import selectors, services

from .conftest import unit_vector

pytestmark = pytest.mark.integration


def test_flush_and_wait_indexed_seals_the_rows_and_waits_until_the_index_serves_them(collection):
    services.upsert_chunks([{"chunk_id": f"c{i}", "document_id": "d", "embedding": unit_vector(settings.EMBEDDING_DIM, i),
                             "metadata": {}} for i in range(6)])
    if collection == "standalone":
        # Unflushed rows are in no sealed segment: nothing to wait for yet, which is why the flush comes first.
        assert selectors.index_coverage()["rows"] == 0
        with pytest.raises(services.IndexNotReady, match=r"^Milvus has not finished indexing collection "
                                                         rf"'{settings.MILVUS_COLLECTION}' after \d+ s \(\d of \d rows "
                                                         r"indexed, \d searched through the index\); try again later$"):
            services.flush_and_wait_indexed(timeout=0)
    coverage = services.flush_and_wait_indexed(timeout=180)
    assert coverage["ready"] and coverage["rows"] == coverage["indexed"] == coverage["served"] == 6
    assert coverage["seconds"] >= 0 and selectors.index_coverage()["ready"]
    assert [hit["chunk_id"] for hit in selectors.search(unit_vector(settings.EMBEDDING_DIM, 2), 1)] == ["c2"]

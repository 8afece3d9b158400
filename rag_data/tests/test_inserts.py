"""rag_data.inserts.insert stores exactly the row Django's save() stores, in one statement."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from rag_data import inserts, services
from rag_data.models import Query

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _fields(query: Query) -> dict:
    query.refresh_from_db()
    return {f.attname: getattr(query, f.attname) for f in Query._meta.concrete_fields if f.attname != "id"}


def test_insert_matches_save_field_for_field():
    values = dict(text="naïve \"quoted\" query", latency_ms=12.5, parameters={"k": 5, "filters": {"lang": ["en"]}},
                  results=[{"chunk_id": "c1", "document_id": "d1", "score": 0.5, "sources": {"vector": 1}}],
                  stage_latency_ms={"vector": 3.25})
    saved, inserted = Query(**values), Query(**values)
    inserted.created_at = saved.created_at
    saved.save()
    with CaptureQueriesContext(connection) as captured:
        inserts.insert(inserted)
    assert len(captured.captured_queries) == 1 and captured.captured_queries[0]["sql"].startswith("INSERT INTO")
    assert inserted.pk != saved.pk and not inserted._state.adding
    assert _fields(inserted) == _fields(saved)


def test_record_query_without_a_session_is_one_statement():
    with CaptureQueriesContext(connection) as captured:
        query = services.record_query(text="q", latency_ms=1.0, results=[])
    assert [q["sql"].split()[0] for q in captured.captured_queries] == ["INSERT"]
    assert Query.objects.get(pk=query.pk).text == "q"


def test_insert_needs_a_client_side_primary_key():
    query = Query(text="q", latency_ms=1.0)
    query.id = None
    with pytest.raises(ValueError, match="primary key"):
        inserts.insert(query)

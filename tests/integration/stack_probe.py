"""What `make test` does to the stores, in small: run only by test_dev_stack_untouched.py, never collected.

(The name does not match test_*.py on purpose.) Restarts an engine of the test stack the way the
reliability tests do, then uses the destructive fixtures: neo4j_store wipes the whole graph, milvus_backend
creates and drops collections, `db` creates and drops a PostgreSQL test database.
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.engines import server_pids, stopped

pytestmark = pytest.mark.integration


def test_restart_an_engine_of_the_test_stack():
    before = server_pids("neo4j")
    with stopped("neo4j"):
        pass
    assert server_pids("neo4j") != before


@pytest.mark.django_db
def test_the_destructive_fixtures_on_every_store(neo4j_store, milvus_backend, settings):
    from django.db import connection
    from pymilvus import DataType, MilvusClient

    namespace = settings.RAG_NAMESPACE  # neo4j_store wipes this run's graph namespace, and only it
    neo4j_store.execute_query("CREATE (:Document {namespace: $ns, document_id: $id})", ns=namespace,
                              id=uuid.uuid4().hex)
    records, _, _ = neo4j_store.execute_query("MATCH (n {namespace: $ns}) RETURN count(n) AS c", ns=namespace)
    assert records[0]["c"] == 1  # the namespace was wiped first: only the node above

    from vectorstore.client import LITE_GRPC_OPTIONS, is_lite

    options = {"grpc_options": LITE_GRPC_OPTIONS} if is_lite(settings.MILVUS_URI) else {}
    client = MilvusClient(uri=settings.MILVUS_URI, timeout=10, **options)
    schema = client.create_schema(auto_id=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
    index = client.prepare_index_params()
    index.add_index(field_name="vec", index_type="FLAT", metric_type="COSINE")
    client.create_collection(settings.MILVUS_COLLECTION, schema=schema, index_params=index)
    client.insert(settings.MILVUS_COLLECTION, [{"pk": 1, "vec": [1, 0, 0, 0]}])
    client.close()  # milvus_backend drops the collection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE probe (id int)")
        cursor.execute("INSERT INTO probe VALUES (1)")

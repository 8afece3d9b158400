"""The graph is a function of the documents: on the real Neo4j, a document's write or delete changes exactly its
own contribution, and replays change nothing."""

import pytest

from graphstore import client, services
from graphstore.documents import write_documents_tx
from graphstore.services import group_rows
from graphstore.tests.conftest import dump_namespace

pytestmark = pytest.mark.integration

A = ("doc-a", {"graph": 2, "vector": 1, "index": 3}, [("graph", "vector", 1), ("graph", "index", 2)])
B = ("doc-b", {"graph": 1, "vector": 4, "search": 1}, [("graph", "vector", 3), ("search", "vector", 1)])
C = ("doc-c", {"index": 1, "search": 2}, [("index", "search", 1)])


def _document(document) -> dict:
    document_id, concepts, pairs = document
    return {"document_id": document_id, "title": f"Title {document_id}", "source": f"{document_id}.md",
            "content_hash": "h", "concepts": concepts, "pairs": pairs}


def _write(document):
    document_id, concepts, pairs = document
    return services.write_document(document_id, f"Title {document_id}", f"{document_id}.md", "h", concepts, pairs)


def _dump(graph, settings):
    return dump_namespace(graph, settings.NEO4J_DATABASE, settings.RAG_NAMESPACE, timestamps=False)


def test_deleting_a_document_leaves_the_graph_of_the_others_alone(graph, settings):
    for document in (A, B, C):
        _write(document)
    services.delete_document("doc-a")
    after_delete = _dump(graph, settings)
    assert ("('rel', 'RELATED_TO', (('Concept',), NAMESPACE, 'graph'), (('Concept',), NAMESPACE, 'vector'), "
            "[('doc_weights', [3.0]), ('docs', ['doc-b']), ('weight', 3.0)])"
            ).replace("NAMESPACE", repr(settings.RAG_NAMESPACE)) in after_delete
    services.wipe_namespace()
    for document in (B, C):
        _write(document)
    assert after_delete == _dump(graph, settings)


def test_changing_a_document_replaces_exactly_its_contribution(graph, settings):
    for document in (A, B):
        _write(document)
    changed = ("doc-a", {"graph": 1, "search": 1}, [("graph", "search", 5)])
    _write(changed)
    incremental = _dump(graph, settings)
    services.wipe_namespace()
    for document in (changed, B):  # another order, same documents
        _write(document)
    assert incremental == _dump(graph, settings)
    assert "index" not in repr(incremental)  # mentioned by nobody now


def test_writes_in_any_order_give_the_same_graph(graph, settings):
    for document in (A, B, C):
        _write(document)
    forward = _dump(graph, settings)
    services.wipe_namespace()
    for document in (C, B, A):
        _write(document)
    assert forward == _dump(graph, settings)


def test_replaying_a_document_write_is_idempotent(graph, settings):
    for document in (A, B):
        _write(document)
    once = _dump(graph, settings)
    _write(A)
    _write(A)
    assert _dump(graph, settings) == once

    def replayed(tx):  # what the driver does when a commit was not confirmed: the same work again
        for _ in range(2):
            write_documents_tx(tx, settings.RAG_NAMESPACE, *group_rows([_document(B)]))

    client.execute_write(replayed)
    assert _dump(graph, settings) == once
    changed = ("doc-b", {"graph": 1, "search": 2}, [("graph", "search", 2)])

    def replayed_group(tx):  # a group of a new, a changed and an unchanged document, replayed
        for _ in range(2):
            write_documents_tx(tx, settings.RAG_NAMESPACE, *group_rows([_document(d) for d in (C, changed, A)]))

    client.execute_write(replayed_group)
    grouped = _dump(graph, settings)
    services.wipe_namespace()
    for document in (changed, A, C):
        _write(document)
    assert _dump(graph, settings) == grouped
    for document in (A, B):  # back to A and B only: the graph of writing them once
        _write(document)
    services.delete_document("doc-c")
    assert _dump(graph, settings) == once
    client.execute_write(replayed)
    assert _dump(graph, settings) == once
    assert services.delete_document("doc-a")["deleted"] and not services.delete_document("doc-a")["deleted"]

"""Ingestion and deletion on the real engines: idempotence, replacement, bad files, the ledger."""

import pytest

from graphstore import selectors as graph_selectors
from ingestion.deletion import DocumentNotFound, delete_document
from ingestion.services import chunk_id_for, discover, document_id_for, ingest_paths
from rag_data.models import Chunk, Document
from ingestion.tests.support import (  # noqa: F401 (fixtures)
    corpus,
    graph_snapshot,
    milvus_state,
    neo4j_documents,
    pg_state,
    stores,
    assert_stores_agree,
)
from ingestion.tests.support import outage_stores  # noqa: F401,E402
from vectorstore import selectors as vector_selectors

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_ids_follow_the_contract():
    assert document_id_for("sub/Guide Book.md") == "sub-guide-book-md-" + __import__("hashlib").sha256(
        b"sub/Guide Book.md").hexdigest()[:8]
    assert document_id_for("a.md", "team1").startswith("team1-a-md-")
    assert len(document_id_for("x" * 300 + ".md")) == 109
    assert chunk_id_for("doc", 3, "text").split("-")[1] == "00003"


def test_discover_walks_sorted_and_explains_skips(corpus):
    found, skipped = discover([corpus])
    assert [f.relative for f in found] == ["guide.md", "notes.txt", "sub/graphs.markdown", "sub/search.rst"]
    assert skipped == [{"path": str(corpus / "picture.png"), "reason": "unsupported extension .png"}]
    found, _ = discover([corpus / "picture.png"])  # named explicitly: tried as text
    assert [f.relative for f in found] == ["picture.png"]
    _, skipped = discover([corpus / "guide.md", corpus / "guide.md"])
    assert "same document id" in skipped[0]["reason"]


def test_corpus_ingested_twice_writes_once(stores, corpus, neo4j_store, settings):
    first = ingest_paths([corpus])
    assert first.counts() == {"created": 4, "updated": 0, "unchanged": 0, "skipped": 1, "failed": 0}
    state = assert_stores_agree()
    assert len(state) == 4 and all(state.values())
    document = Document.objects.get(source_path="guide.md")
    assert document.title == "Vector databases"
    assert document.in_postgres and document.in_milvus and document.in_neo4j
    concepts = graph_selectors.concepts_for_documents([document.document_id])[document.document_id]
    assert "vector database" in {c["name"] for c in concepts}
    hit = vector_selectors.search([1.0] + [0.0] * 31, k=50, filters={"document_id": document.document_id})[0]
    assert hit["metadata"]["source"] == "guide.md" and hit["metadata"]["ext"] == "md"

    stamps = dict(Document.objects.values_list("document_id", "updated_at"))
    count, graph = vector_selectors.count_chunks(), graph_snapshot(neo4j_store, settings.NEO4J_DATABASE)
    second = ingest_paths([corpus])
    assert second.counts() == {"created": 0, "updated": 0, "unchanged": 4, "skipped": 1, "failed": 0}
    assert dict(Document.objects.values_list("document_id", "updated_at")) == stamps
    assert vector_selectors.count_chunks() == count
    assert graph_snapshot(neo4j_store, settings.NEO4J_DATABASE) == graph
    assert pg_state() == state


def test_changed_file_replaces_its_chunks_everywhere(stores, corpus):
    ingest_paths([corpus])
    document = Document.objects.get(source_path="guide.md")
    old_chunks = set(document.chunks.values_list("chunk_id", flat=True))
    (corpus / "guide.md").write_text("# Quantum annealing\n\nQuantum annealing finds minima. "
                                     "Quantum annealing uses qubits; qubits tunnel.\n")
    report = ingest_paths([corpus])
    assert report.updated == [document.document_id] and len(report.unchanged) == 3
    state = assert_stores_agree()
    assert not old_chunks & state[document.document_id]
    assert not old_chunks & set(Chunk.objects.values_list("chunk_id", flat=True))
    names = {c["name"] for c in graph_selectors.concepts_for_documents([document.document_id])[document.document_id]}
    assert "quantum annealing" in names and "vector database" not in names
    document.refresh_from_db()
    assert document.title == "Quantum annealing" and document.status == "complete"


def test_other_chunking_parameters_rewrite_an_unchanged_file(stores, corpus):
    ingest_paths([corpus / "guide.md"])
    report = ingest_paths([corpus / "guide.md"], chunk_size=120, chunk_overlap=0)
    assert len(report.updated) == 1
    assert_stores_agree()


def test_bad_files_are_skipped_with_reasons_and_the_rest_goes_in(stores, corpus, settings):
    settings.INGEST_MAX_FILE_BYTES = 2000
    bad = corpus / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "blank.md").write_text("  \n\n ")
    (bad / "binary.txt").write_bytes(b"text\x00more")
    (bad / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (bad / "huge.md").write_text("word " * 1000)
    report = ingest_paths([corpus])
    reasons = {row["path"].rsplit("/", 1)[-1]: row["reason"] for row in report.skipped}
    assert reasons["empty.txt"] == "empty file"
    assert reasons["blank.md"] == "empty file (whitespace only)"
    assert reasons["binary.txt"] == "binary file (contains NUL bytes)"
    assert reasons["latin1.txt"].startswith("not UTF-8 text (invalid byte at offset 3)")
    assert reasons["huge.md"] == "too large (5000 bytes > INGEST_MAX_FILE_BYTES=2000)"
    assert len(report.created) == 4 and not report.failed
    assert_stores_agree()


def test_delete_document_removes_it_from_all_three(stores, corpus):
    ingest_paths([corpus])
    document = Document.objects.get(source_path="notes.txt")
    result = delete_document(document.document_id)
    assert result["milvus_chunks_deleted"] >= 1 and result["neo4j_deleted"] is True
    state = assert_stores_agree()
    assert document.document_id not in state and len(state) == 3
    assert not Chunk.objects.filter(document_id=document.pk).exists()
    with pytest.raises(DocumentNotFound, match="no document with id 'nope'"):
        delete_document("nope")


def test_a_store_failure_marks_the_document_failed_and_the_batch_goes_on(outage_stores, corpus):
    def take_neo4j_away_after_the_first_file(done, total, path):
        if done == 1:
            outage_stores.start()

    report = ingest_paths([corpus], progress=take_neo4j_away_after_the_first_file)
    assert len(report.created) == 1 and len(report.failed) == 3
    assert all(row["reason"].startswith("Neo4j: ") for row in report.failed)
    failed = Document.objects.exclude(status="complete")
    assert {d.status for d in failed} == {"failed"} and len(failed) == 3
    assert all(d.in_postgres and d.in_milvus and not d.in_neo4j and "Neo4j" in d.last_error for d in failed)
    outage_stores.end()
    graph = neo4j_documents()
    assert set(report.created) <= graph and not graph & {d.document_id for d in failed}
    assert set(milvus_state()) == set(pg_state())  # Milvus was written before the graph failed


def test_after_three_outage_failures_the_rest_is_not_attempted(outage_stores, corpus):
    for n in range(3):
        (corpus / f"extra{n}.txt").write_text(f"Extra document number {n} about outages and retries.")

    report = ingest_paths([corpus], progress=lambda done, total, path: done == 1 and outage_stores.start())
    reasons = [row["reason"] for row in report.failed]
    assert len(report.created) == 1 and len(reasons) == 6
    assert all(r.startswith("Neo4j: ") for r in reasons[:3])
    assert all(r.startswith("not attempted: Neo4j unreachable") for r in reasons[3:])
    assert Document.objects.count() == 4  # the files not attempted were not written anywhere


@pytest.mark.django_db(transaction=True)
def test_one_document_is_written_by_one_ingest_at_a_time(settings):
    """The advisory lock: a second holder waits until the first lets go (threads, real PostgreSQL)."""
    import threading
    import time

    from django.db import connection

    from rag_data import ledger

    order = []

    def second():
        with ledger.document_lock("doc-locked"):
            order.append("second")
        connection.close()

    with ledger.document_lock("doc-locked"):
        worker = threading.Thread(target=second)
        worker.start()
        time.sleep(0.5)
        order.append("first")
    worker.join(timeout=30)
    assert order == ["first", "second"]

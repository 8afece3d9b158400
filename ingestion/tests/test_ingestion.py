"""Ingestion and deletion on the real engines: idempotence, replacement, bad files, the ledger."""

import pytest

from graphstore import selectors as graph_selectors
from ingestion.deletion import DocumentNotFound, delete_document
from ingestion.services import chunk_id_for, discover, document_id_for, ingest_paths
from ingestion.sources import page_of
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
    assert chunk_id_for("doc", 3, "text", page=12) == chunk_id_for("doc", 3, "text") + "-p12"
    assert page_of(chunk_id_for("doc", 3, "text", page=12)) == 12 and page_of(chunk_id_for("doc", 3, "text")) is None


def test_discover_walks_sorted_and_explains_skips(corpus):
    found, skipped = discover([corpus])
    assert [f.relative for f in found] == ["corpus/guide.md", "corpus/notes.txt", "corpus/sub/graphs.markdown",
                                           "corpus/sub/search.rst"]
    assert skipped == [{"path": str(corpus / "picture.png"), "reason": "unsupported extension .png"}]
    found, _ = discover([corpus / "picture.png"])  # named explicitly: tried as text
    assert [f.relative for f in found] == ["corpus/picture.png"]
    _, skipped = discover([corpus / "guide.md", corpus / "guide.md"])
    assert "same document id" in skipped[0]["reason"]


def test_corpus_ingested_twice_writes_once(stores, corpus, neo4j_store, settings):
    first = ingest_paths([corpus])
    assert first.counts() == {"created": 4, "updated": 0, "unchanged": 0, "skipped": 1, "failed": 0}
    state = assert_stores_agree()
    assert len(state) == 4 and all(state.values())
    document = Document.objects.get(source_path="corpus/guide.md")
    assert document.title == "Vector databases"
    assert document.in_postgres and document.in_milvus and document.in_neo4j
    concepts = graph_selectors.concepts_for_documents([document.document_id])[document.document_id]
    assert "vector database" in {c["name"] for c in concepts}
    hit = vector_selectors.search([1.0] + [0.0] * 31, k=50, filters={"document_id": document.document_id})[0]
    assert hit["metadata"]["source"] == "corpus/guide.md" and hit["metadata"]["ext"] == "md"

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
    document = Document.objects.get(source_path="corpus/guide.md")
    old_chunks = set(document.chunks.values_list("chunk_id", flat=True))
    (corpus / "guide.md").write_text("# Quantum annealing\n\nQuantum annealing finds minima. "
                                     "Quantum annealing uses qubits; qubits tunnel.\n")
    report = ingest_paths([corpus])
    assert report.updated == [document.document_id] and len(report.unchanged) == 3
    # Only the rewritten file's chunks count as written (they decide whether keyword statistics are refreshed).
    assert report.chunks_written == document.chunks.count() < report.chunks == Chunk.objects.count()
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
    document = Document.objects.get(source_path="corpus/notes.txt")
    result = delete_document(document.document_id)
    assert result["milvus_chunks_deleted"] >= 1 and result["neo4j_deleted"] is True
    state = assert_stores_agree()
    assert document.document_id not in state and len(state) == 3
    assert not Chunk.objects.filter(document_id=document.pk).exists()
    with pytest.raises(DocumentNotFound, match="no document with id 'nope'"):
        delete_document("nope")


def test_a_store_failure_marks_the_document_failed_and_the_batch_goes_on(outage_stores, corpus, settings):
    settings.INGEST_GROUP_SIZE = 1  # file by file (groups: test_groups.py)
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


def test_after_three_outage_failures_the_rest_is_not_attempted(outage_stores, corpus, settings):
    settings.INGEST_GROUP_SIZE = 1
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


def test_html_and_pdf_go_into_all_three_stores_with_pages(stores, tmp_path):
    import shutil
    from pathlib import Path

    from ingestion.reconcile import reconcile
    from ingestion.tests.pdfs import make_pdf
    from vectorstore import services as vector_services

    kb = tmp_path / "kb"
    kb.mkdir()
    shutil.copy(Path(__file__).parent / "data" / "replication-guide.html", kb / "replication.html")
    (kb / "manual.pdf").write_bytes(make_pdf([["Vector indexes are layered proximity graphs."], [],
                                              ["Backups copy the write-ahead log to object storage."]],
                                             title="Operations manual"))
    (kb / "scan.pdf").write_bytes(make_pdf([[], []]))
    (kb / "broken.pdf").write_bytes(b"%PDF-1.4\nnot really")
    report = ingest_paths([kb])
    assert len(report.created) == 2 and not report.failed
    reasons = {row["path"].rsplit("/", 1)[-1]: row["reason"] for row in report.skipped}
    assert reasons["scan.pdf"].startswith("PDF has no text layer") and "OCR" in reasons["scan.pdf"]
    assert reasons["broken.pdf"].startswith("PDF could not be read")
    assert_stores_agree()

    html = Document.objects.get(source_path="kb/replication.html")
    assert html.title == "Replication guide — Acme Docs"
    texts = list(html.chunks.order_by("ordinal").values_list("text", flat=True))
    assert texts[0].startswith("# Replication guide") and any(t.startswith("## Failover") for t in texts)
    assert not any(junk in text for text in texts for junk in ("Products", "All rights reserved", "cookies"))

    pdf = Document.objects.get(source_path="kb/manual.pdf")
    assert pdf.title == "Operations manual"

    def pages() -> dict[str, int]:
        hits = vector_selectors.search([1.0] + [0.0] * 31, k=20, filters={"document_id": pdf.document_id})
        assert {hit["metadata"]["ext"] for hit in hits} == {"pdf"}
        return {hit["chunk_id"]: hit["metadata"]["page"] for hit in hits}

    written = pages()
    assert sorted(written.values()) == [1, 3]
    texts = dict(pdf.chunks.values_list("chunk_id", "text"))
    assert "Backups" in texts[next(c for c, page in written.items() if page == 3)]
    only_page_3 = vector_selectors.search([1.0] + [0.0] * 31, k=20, filters={"metadata.page": 3})
    assert [hit["chunk_id"] for hit in only_page_3] == [c for c, page in written.items() if page == 3]
    # Rebuilt from PostgreSQL alone (reconcile), the rows carry the same pages.
    vector_services.delete_document_chunks([pdf.document_id])
    reconcile()
    assert pages() == written
    assert len(ingest_paths([kb]).unchanged) == 2


def test_same_file_name_in_two_directories_is_two_documents(stores, tmp_path):
    for name, text in (("a", "Alpha notes about replication."), ("b", "Beta notes about sharding.")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "notes.txt").write_text(text)
    first = ingest_paths([tmp_path / "a" / "notes.txt"])
    second = ingest_paths([tmp_path / "b" / "notes.txt"])
    assert len(first.created) == 1 and len(second.created) == 1 and first.created != second.created
    assert dict(Document.objects.values_list("source_path", "title")) == {
        "a/notes.txt": "Alpha notes about replication.", "b/notes.txt": "Beta notes about sharding."}
    # A directory and the files in it name the files alike: same ids, nothing rewritten.
    assert len(ingest_paths([tmp_path / "a"]).unchanged) == 1
    # Same tree, same command, another working directory: the same ids.
    import os

    here = os.getcwd()
    try:
        os.chdir(tmp_path / "b")
        assert ingest_paths(["notes.txt"]).unchanged == second.created
    finally:
        os.chdir(here)
    assert_stores_agree()


def test_an_id_the_ledger_holds_for_another_source_is_refused(stores, corpus):
    ingest_paths([corpus / "notes.txt"])
    document = Document.objects.get()
    Document.objects.filter(pk=document.pk).update(source_path="elsewhere/notes.txt")  # e.g. a hash collision
    before = list(document.chunks.values_list("chunk_id", "text"))
    (corpus / "notes.txt").write_text("Completely different text that must not replace the other file.")
    report = ingest_paths([corpus / "notes.txt"])
    assert report.counts()["failed"] == 1 and not report.updated
    reason = report.failed[0]["reason"]
    assert reason.startswith(f"document id {document.document_id} already belongs to 'elsewhere/notes.txt'")
    assert "refused" in reason
    assert list(document.chunks.values_list("chunk_id", "text")) == before


def test_progress_counts_files_and_chunks_and_times_every_stage(stores, corpus):
    events, files = [], []
    report = ingest_paths([corpus], on_progress=events.append, progress=lambda *args: files.append(args))
    assert [(done, total) for done, total, _ in files] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    stages = [event.stage for event in events]
    assert set(stages) == {"read", "chunk", "postgres", "embed", "extract", "milvus", "neo4j", "done"}
    done = [event for event in events if event.stage == "done"]
    assert [event.files_done for event in done] == [1, 2, 3, 4] and {e.files_total for e in events} == {4}
    assert done[-1].chunks_done == report.chunks == Chunk.objects.count()
    assert [e.chunks_done for e in done] == sorted(e.chunks_done for e in done) and done[0].chunks_done > 0
    assert set(report.stage_seconds) == {"read", "chunk", "embed", "extract", "postgres", "milvus", "neo4j"}
    assert all(seconds > 0 for seconds in report.stage_seconds.values())
    assert report.as_dict()["stage_seconds"].keys() == report.stage_seconds.keys()

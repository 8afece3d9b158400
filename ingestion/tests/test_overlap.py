"""Overlapped groups on the real engines (ingestion/overlap.py): group N's graph write runs while group N+1 is
begun and written to Milvus. A Neo4j outage there leaves both groups for reconcile; a group's document locks
are held until its outcome is in the ledger; a writer holding one group's locks never waits for another's."""

import threading

import pytest
from django.db import connections

from ingestion.reconcile import reconcile
from ingestion.services import discover, ingest_paths
from ingestion.tests.support import (  # noqa: F401 (fixtures)
    assert_stores_agree,
    corpus,
    neo4j_documents,
    outage_stores,
    stores,
)
from rag_data import locks
from rag_data.models import Document

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def _ledger() -> dict[str, tuple]:
    return {d.document_id: (d.status, d.in_postgres, d.in_milvus, d.in_neo4j) for d in Document.objects.all()}


def test_a_graph_outage_while_the_next_group_is_begun_leaves_both_groups_for_reconcile(outage_stores, corpus,
                                                                                      settings):
    settings.INGEST_GROUP_SIZE = 1
    ids = [source.document_id for source in discover([corpus])[0]]
    assert len(ids) == 4
    graph_writes, seen = [], {}

    def on_progress(progress):
        if progress.stage == "neo4j":  # told by the graph thread as a group's Neo4j write starts
            graph_writes.append(progress)
            if len(graph_writes) == 2:
                outage_stores.start()  # the second group's graph write (and all later ones) fail

    def progress(done, total, path):  # group `done` has landed: its outcome is in the ledger
        seen[done] = (_ledger(), locks.held_document_locks(ids))

    report = ingest_paths([corpus], progress=progress, on_progress=on_progress)
    assert report.created == ids[:1] and [row["document_id"] for row in report.failed] == ids[1:]
    assert all(row["reason"].startswith("Neo4j: ") and row["transient"] for row in report.failed)
    # When a group lands, the next one is begun already (pending, only in PostgreSQL) and under its lock;
    # the landed group's lock is gone.
    ledger, held = seen[1]
    assert ledger[ids[0]] == ("complete", True, True, True)
    assert ledger[ids[1]] == ("pending", True, False, False) and held == {ids[1]}
    ledger, held = seen[2]
    assert ledger[ids[1]] == ("failed", True, True, False)  # Milvus written beside the failed graph write
    assert ledger[ids[2]][:2] == ("pending", True) and held == {ids[2]}
    # In the end: only the first group complete, the others failed with the flags of what they reached.
    assert _ledger() == {ids[0]: ("complete", True, True, True),
                         **{i: ("failed", True, True, False) for i in ids[1:]}}
    assert locks.held_document_locks(ids) == set()
    outage_stores.end()
    assert not neo4j_documents() & set(ids[1:])
    fixed = reconcile()
    assert sorted(fixed.repaired) == sorted(ids[1:]) and not fixed.failed
    assert_stores_agree()
    assert ingest_paths([corpus]).counts()["unchanged"] == 4


def test_a_writer_lets_its_group_go_before_it_waits_for_a_busy_lock(stores, corpus, settings):
    settings.INGEST_GROUP_SIZE = 1
    ids = [source.document_id for source in discover([corpus])[0]]
    taken, release, waited = threading.Event(), threading.Event(), {}

    def holder():  # another session holds the third document's lock until the second group has landed
        try:
            with locks.document_lock(ids[2]):
                taken.set()
                waited["released in time"] = release.wait(timeout=20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    assert taken.wait(timeout=10)

    def progress(done, total, path):
        if done == 2:  # group 2 landed without group 3 begun: the writer let it go before waiting
            waited["third pending"] = Document.objects.filter(document_id=ids[2]).exists()
            release.set()

    report = ingest_paths([corpus], progress=progress)
    thread.join(timeout=30)
    assert waited == {"released in time": True, "third pending": False}
    assert report.created == ids and not report.failed
    assert_stores_agree()

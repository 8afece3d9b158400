"""The writers' advisory locks (rag_data.locks) are released when their block ends, one by one or as a group."""

from __future__ import annotations

import pytest

from rag_data import locks

pytestmark = pytest.mark.django_db


def test_a_document_lock_is_held_inside_its_block_and_released_after():
    with locks.document_lock("doc-lock-a"):
        assert locks.held_document_locks(["doc-lock-a", "doc-lock-b"]) == {"doc-lock-a"}
    assert locks.held_document_locks(["doc-lock-a"]) == set()


def test_a_group_lock_holds_every_document_and_releases_them_all_even_after_an_error():
    with pytest.raises(RuntimeError), locks.documents_lock(["doc-lock-c", "doc-lock-d", "doc-lock-c"]):
        assert locks.held_document_locks(["doc-lock-c", "doc-lock-d"]) == {"doc-lock-c", "doc-lock-d"}
        raise RuntimeError("the holder's own error")
    assert locks.held_document_locks(["doc-lock-c", "doc-lock-d"]) == set()


def test_a_group_lock_without_waiting_takes_all_or_none():
    import threading

    from django.db import connections

    taken, done = threading.Event(), threading.Event()

    def holder():  # another session holds one of the group's locks
        try:
            with locks.document_lock("doc-lock-f"):
                taken.set()
                done.wait(timeout=20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=holder)
    thread.start()
    try:
        assert taken.wait(timeout=10)
        with pytest.raises(locks.LocksBusy), locks.documents_lock(["doc-lock-e", "doc-lock-f"], wait=False):
            pass
        assert locks.held_document_locks(["doc-lock-e"]) == set()  # the one it could take is let go
        with locks.documents_lock(["doc-lock-e", "doc-lock-g"], wait=False):
            assert locks.held_document_locks(["doc-lock-e", "doc-lock-g"]) == {"doc-lock-e", "doc-lock-g"}
    finally:
        done.set()
        thread.join(timeout=30)
    assert locks.held_document_locks(["doc-lock-e", "doc-lock-f", "doc-lock-g"]) == set()

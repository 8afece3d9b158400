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

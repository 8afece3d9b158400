"""Writers' locks in PostgreSQL (advisory locks): one writer per document, one graph writer per namespace.

Every path that writes a document's rows in any store holds its document lock (docs/concurrency.md); the
graph writes of a namespace are serialised inside it. `held_document_locks` tells readers (the drift check)
which documents a writer is at work on, without taking any lock.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterable

from django.db import DatabaseError, connection


@contextlib.contextmanager
def document_lock(document_id: str):
    """Serialise writers of one document across threads and processes (a PostgreSQL advisory lock).

    Every path that writes a document's rows in any store takes it: ingest (per file), delete_document,
    and reconcile (per document it finishes, repairs or deletes orphans of, re-reading the ledger under
    it). Two writers of one document would otherwise interleave their store writes, or reconcile would
    delete what a concurrent ingest had just written. Take one document's lock at a time, or a group's
    with documents_lock (one order for all: no deadlock), never one inside another. The lock lives in the
    session of this thread's connection, so it also ends if the connection dies; callers start on a live connection
    (close_if_unusable_or_obsolete). See docs/concurrency.md.
    """
    with _advisory_lock(document_id):
        yield


class LocksBusy(Exception):
    """documents_lock(wait=False) found some of the locks held by another session (it holds none of them)."""


@contextlib.contextmanager
def documents_lock(document_ids: Iterable[str], *, wait: bool = True):
    """document_lock for a group of documents, taken in one statement in the order of their lock keys.

    Every holder of several document locks takes them in that one order, so two group writers wait for
    each other but never deadlock; single-document holders (reconcile, delete) never hold two at once.
    A holder that already holds a group's locks and wants a second group's (ingestion's overlapped groups)
    must not wait for them while holding the first: it asks with wait=False, which takes all of them or
    none and raises LocksBusy, and then lets the first group go before it waits.
    """
    keys = sorted({_key(document_id) for document_id in document_ids})
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT count(pg_advisory_lock(k)) FROM unnest(%s::bigint[]) AS t(k)", [keys])
        else:
            cursor.execute("SELECT k FROM unnest(%s::bigint[]) AS t(k) WHERE pg_try_advisory_lock(k)", [keys])
            taken = [row[0] for row in cursor.fetchall()]
            if len(taken) < len(keys):
                _unlock("SELECT count(pg_advisory_unlock(k)) FROM unnest(%s::bigint[]) AS t(k)", [taken])
                raise LocksBusy(f"{len(keys) - len(taken)} of {len(keys)} document locks are held elsewhere")
    try:
        yield
    finally:
        _unlock("SELECT count(pg_advisory_unlock(k)) FROM unnest(%s::bigint[]) AS t(k)", [keys])


@contextlib.contextmanager
def graph_lock(namespace: str):
    """Serialise the graph writes of one namespace (a PostgreSQL advisory lock, taken inside a document's lock).

    Two documents may contribute to one RELATED_TO edge, whose docs/doc_weights lists are read and rewritten;
    Neo4j's read-committed isolation let two such writers lose an update (seen in the 200-round writers test:
    the two lists out of step, then a write failing on a null weight). Holding this lock around each
    document's graph transaction (and reconcile's graph repairs) makes them one at a time per namespace;
    the other stores' writes still run in parallel. Always taken after a document lock, never before one.
    """
    with _advisory_lock("graph:" + namespace):
        yield


def held_document_locks(document_ids) -> set[str]:
    """Those of `document_ids` whose document lock some session holds right now (a writer is at work on them).

    One read of pg_locks for this database; no lock is taken, so no writer waits for the caller.
    A bigint advisory key shows there as classid (high 32 bits) and objid (low 32 bits), objsubid 1.
    """
    keys = {_key(document_id) & 0xFFFFFFFFFFFFFFFF: document_id for document_id in document_ids}
    if not keys:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
            "AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        held = {(high << 32) | low for high, low in cursor.fetchall()}
    return {document_id for key, document_id in keys.items() if key in held}


@contextlib.contextmanager
def _advisory_lock(name: str):
    key = _key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [key])
    try:
        yield
    finally:
        _unlock("SELECT pg_advisory_unlock(%s)", [key])


def _unlock(sql: str, params: list) -> None:
    """Release advisory locks; a connection that is gone has released them already (and must not raise here,
    inside the `finally` of the lock's holder, over the holder's own error)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
    except DatabaseError:
        pass


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)

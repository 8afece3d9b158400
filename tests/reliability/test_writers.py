"""One writer per document: ingest, delete and reconcile run at the same time on overlapping documents,
round after round (a seeded loop), and after every round the three stores hold exactly the same documents.

Each round, in threads started together: two ingests of a few tiny files (random subsets of eight names,
so both overlap each other, the deletion and earlier rounds, with new content each time), one deletion
of a few of the eight documents, and one reconcile. Then, with no settling reconcile:
- PostgreSQL, Milvus and Neo4j agree exactly (every ledger row complete, Milvus rows == PostgreSQL chunks,
  one Neo4j Document node per ledger row, nothing else);
- a document only deleted is gone, a document only ingested is there (one both ingested and deleted may
  end either way, depending on which writer got its lock last);
- no writer failed.

CONCURRENCY_ROUNDS sets the number of rounds (default 200), CONCURRENCY_SEED the first seed. Needs a
Neo4j of its own (reconcile deletes every Document node PostgreSQL does not know; the fixture wipes it).
"""

from __future__ import annotations

import os
import random
import threading
import time

import pytest
from django.db import connections

from ingestion.deletion import DocumentNotFound, delete_document
from ingestion.reconcile import reconcile
from ingestion.services import document_id_for, ingest_paths
from tests.reliability import support

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROUNDS = int(os.environ.get("CONCURRENCY_ROUNDS", "200"))
SEED = int(os.environ.get("CONCURRENCY_SEED", "20240611"))
NAMES = [f"doc{n}.md" for n in range(8)]
WORDS = ["vector", "graph", "keyword", "fusion", "ledger", "milvus", "neo4j", "postgres", "index", "chunk"]
ROUND_BOUND = 120.0  # seconds: a round that takes longer is a deadlock


def _text(rng: random.Random, name: str, tag: str) -> str:
    sentences = [f"The {rng.choice(WORDS)} {rng.choice(WORDS)} note {tag} explains {rng.choice(WORDS)} "
                 f"search and {rng.choice(WORDS)} storage." for _ in range(rng.randint(1, 6))]
    return f"# {name} {tag}\n\n" + " ".join(sentences) + "\n"


def _run_round(rng: random.Random, number: int, root, prefix: str) -> dict:
    ingests = [rng.sample(NAMES, rng.randint(1, 4)), rng.sample(NAMES, rng.randint(1, 3))]
    deleted = rng.sample(NAMES, rng.randint(1, 3))
    paths = []
    for n, names in enumerate(ingests):
        directory = root / f"r{number}" / f"i{n}"
        directory.mkdir(parents=True)
        for name in names:
            (directory / name).write_text(_text(rng, name, f"{number}.{n}"))
        paths.append([directory / name for name in names])
    delays = [rng.random() * 0.05 for _ in range(4)]
    barrier = threading.Barrier(4)
    outcome: dict = {"errors": [], "ingests": [], "deleted": [], "reconcile": None}

    def worker(delay, func):
        try:
            barrier.wait(timeout=30)
            time.sleep(delay)
            func()
        except Exception as error:
            outcome["errors"].append(repr(error))
        finally:
            connections.close_all()  # this thread's own PostgreSQL connection

    def ingest(files):
        outcome["ingests"].append(ingest_paths(files, id_prefix=prefix))

    def delete():
        for name in deleted:
            try:
                delete_document(document_id_for(name, prefix))
                outcome["deleted"].append(name)
            except DocumentNotFound:
                pass

    def run_reconcile():
        outcome["reconcile"] = reconcile()

    threads = [threading.Thread(target=worker, args=(delays[0], lambda: ingest(paths[0]))),
               threading.Thread(target=worker, args=(delays[1], lambda: ingest(paths[1]))),
               threading.Thread(target=worker, args=(delays[2], delete)),
               threading.Thread(target=worker, args=(delays[3], run_reconcile))]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + ROUND_BOUND
    for thread in threads:
        thread.join(timeout=max(0.1, deadline - time.monotonic()))
    assert not any(thread.is_alive() for thread in threads), f"round {number}: a writer is stuck (deadlock?)"
    outcome["ingested"] = set(ingests[0]) | set(ingests[1])
    outcome["to_delete"] = set(deleted)
    return outcome


def test_concurrent_ingest_delete_reconcile_leave_the_stores_identical(settings, tmp_path):
    from graphstore import client as graph

    prefix, collection = support.unique("wr"), support.unique("rel_writers_")
    support.small_settings(settings, collection)
    # A group's graph transaction (several documents, concurrent writers queued on the namespace graph lock)
    # can outlast small_settings' 2 s on a busy machine or a Neo4j restarted by an earlier test: this test is
    # about the stores agreeing, not about timeouts (test_pause and test_kill_mid_ingest cover those).
    settings.NEO4J_TIMEOUT = 5.0
    graph.write("MATCH (n) DETACH DELETE n")  # reconcile deletes every Document node PostgreSQL does not know
    started = time.monotonic()
    skipped = 0
    try:
        for number in range(ROUNDS):
            seed = SEED + number
            outcome = _run_round(random.Random(seed), number, tmp_path, prefix)
            where = f"round {number} (seed {seed}, CONCURRENCY_SEED={SEED})"
            assert not outcome["errors"], f"{where}: {outcome['errors']}"
            failed = [f for report in outcome["ingests"] for f in report.failed]
            assert not failed, f"{where}: ingest failed: {failed}"
            assert not outcome["reconcile"].failed, f"{where}: reconcile failed: {outcome['reconcile'].failed}"
            skipped += len(outcome["reconcile"].skipped_changed)
            try:
                found = support.assert_identical(prefix)
            except AssertionError as error:
                raise AssertionError(f"{where}: the stores differ: {error}") from None
            present = set(found["postgres"])
            only_deleted = {document_id_for(n, prefix) for n in outcome["to_delete"] - outcome["ingested"]}
            only_ingested = {document_id_for(n, prefix) for n in outcome["ingested"] - outcome["to_delete"]}
            assert not only_deleted & present, f"{where}: deleted documents are back: {only_deleted & present}"
            assert only_ingested <= present, f"{where}: ingested documents are missing: {only_ingested - present}"
        took = time.monotonic() - started
        support.TIMINGS[f"writers: {ROUNDS} concurrent ingest/delete/reconcile rounds in"] = took
        print(f"\nwriters: {ROUNDS} rounds from seed {SEED} in {took:.1f}s, stores identical after each; "
              f"reconcile left {skipped} changed documents to their writers")
    finally:
        support.drop_everything(prefix, collection)

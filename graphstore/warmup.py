"""Warm a just-started Neo4j: run the ingest's group write and the search's graph reads in a namespace of
their own, then delete it.

Why: the first ingest after Neo4j starts costs ~10x the Neo4j CPU of the next one (BENCHMARKS.md "Cold
start"): the JVM compiles Neo4j's own code (C1/C2 compiler threads), runs it interpreted meanwhile, and
Cypher plans each statement text for the first time. Running the same statement texts (plans are cached
by text; the values are parameters) over synthetic documents of the same shape moves that cost to the
moment the stack starts (`infrastructure.local up` runs `manage.py graph_warmup` in the background,
NEO4J_WARMUP_ROUNDS). The data is made up and lives in a fresh namespace (`warmup-<random>`) that is
deleted at the end, also on failure (a warm-up killed outright is cleaned up by the next one): nothing of it
stays in the graph. It gives way as soon as another client writes documents (an ingest).
"""

from __future__ import annotations

import random
import re
import secrets
import time

from django.conf import settings

from graphstore import client, selectors
from graphstore import documents as documents_tx
from graphstore.schema import MAX_HOPS
from graphstore.services import group_rows, wipe_namespace

GROUP = 64              # documents per group write (INGEST_GROUP_SIZE's default)
GROUPS_PER_ROUND = 10   # a round writes ~the Django docs tree's 642 documents
CONCEPTS = 12           # concepts per document (the extractor keeps at most 12)
PREFIX = "warmup-"
LEFTOVER = re.compile(r"warmup-[0-9a-f]{12}")
VOCABULARY = 1800       # concept names per round (the Django docs tree has 1,854)


def _document(rng: random.Random, round_number: int, number: int, vocabulary: list[str]) -> dict:
    names: list[str] = []
    while len(names) < CONCEPTS:  # log-uniform ranks: a few concepts in most documents, most in a few (as in text)
        name = vocabulary[int(len(vocabulary) ** rng.random()) - 1]
        names += [name] if name not in names else []
    concepts = {name: rng.randint(1, 6) for name in names}
    pairs = [(a, b, round(rng.uniform(0.1, 1.0), 3)) for i, a in enumerate(names) for b in names[i + 1:]]
    return {"document_id": f"warmup-{round_number}-{number}", "title": f"warm-up document {number}",
            "source": f"warmup/{number}.txt", "content_hash": f"{round_number:08x}{number:08x}",
            "concepts": concepts, "pairs": pairs}


def _reads(namespace: str, ids: list[str], names: list[str], documents: int) -> None:
    """The search's graph statements (retrieval.pipeline's graph leg), with the texts the selectors run."""
    hops = min(max(settings.SEARCH_GRAPH_HOPS, 1), MAX_HOPS)
    client.read(selectors.RELATED_DOCUMENTS_CYPHER.format(hops=hops), namespace=namespace, ids=ids, limit=20)
    client.read(selectors.QUERY_CONCEPT_DOCUMENTS_CYPHER, namespace=namespace, names=names,
                documents=float(documents), limit=20, per_concept=50, max_df=max(50.0, 0.25 * documents))


class _Others:
    """Whether another client wrote or deleted documents since the last look: the database's Document count
    (from Neo4j's count store: one O(1) read) moved by more than the documents the warm-up created. Reads
    (`init_stores`, a search) and rewrites of existing documents do not count: an ingest of new files does."""

    def __init__(self):
        self.own = 0
        self.last = self._documents()

    @staticmethod
    def _documents() -> int:
        return client.read("MATCH (d:Document) RETURN count(d) AS documents").records[0]["documents"]

    def active(self) -> bool:
        now = self._documents()
        busy = now != self.last + self.own
        self.last, self.own = now, 0
        return busy


def leftover_namespaces() -> list[str]:
    """Warm-up namespaces a killed warm-up left behind (`warmup-` and 12 hex digits: a reserved pattern)."""
    found = set()
    for label, key in (("Document", "document_id"), ("Concept", "name")):
        result = client.read(f"MATCH (n:{label}) WHERE n.namespace STARTS WITH $prefix AND n.{key} IS NOT NULL "
                             "RETURN DISTINCT n.namespace AS namespace", prefix=PREFIX)
        found.update(record["namespace"] for record in result.records)
    return sorted(name for name in found if LEFTOVER.fullmatch(name))


def warm_up(rounds: int, *, seed: int = 0) -> dict:
    """`rounds` rounds of GROUPS_PER_ROUND group writes of new documents (the last group of each round written
    again with other concepts: the path of a changed document) and the search reads after the first two; the
    namespace is then deleted. It stops early, before a group, when another client has written or deleted
    documents meanwhile (an ingest started during the warm-up has the CPU to itself). Returns {"namespace", "documents", "seconds",
    "removed", "stopped"}."""
    started, written, removed, stopped = time.monotonic(), 0, 0, False
    for leftover in leftover_namespaces():
        wipe_namespace(leftover)
    namespace = f"{PREFIX}{secrets.token_hex(6)}"
    rng = random.Random(seed)
    others = _Others()
    try:
        for round_number, group in ((r, g) for r in range(rounds) for g in range(GROUPS_PER_ROUND)):
            if others.active():
                stopped = True
                break
            vocabulary = [f"warm-up concept {round_number}-{n}" for n in range(VOCABULARY)]
            docs = [_document(rng, round_number, group * GROUP + n, vocabulary) for n in range(GROUP)]
            changed = group == GROUPS_PER_ROUND - 1
            for batch in (docs, [_document(rng, round_number, group * GROUP + n, vocabulary)
                                 for n in range(GROUP)]) if changed else (docs,):
                client.execute_write(documents_tx.write_documents_tx, namespace, *group_rows(batch))
                written += len(batch)
            others.own += len(docs)  # the changed group's second write rewrites the same documents
            if group < 2:  # the plans and a little JIT; on a bigger graph the reads cost more than all writes
                _reads(namespace, [doc["document_id"] for doc in docs[:5]], list(docs[0]["concepts"])[:6], written)
    finally:
        removed = wipe_namespace(namespace)
    return {"namespace": namespace, "documents": written, "seconds": round(time.monotonic() - started, 2),
            "removed": removed, "stopped": stopped}


def wait_for_constraints(seconds: float, poll: float = 0.5) -> bool:
    """Whether the uniqueness constraints exist, waiting up to `seconds` for them (the statements seek their
    indexes; on a new server `init_stores`, or the first ingest, creates them moments after `up`)."""
    deadline = time.monotonic() + seconds
    while True:
        if not selectors.constraint_status()["missing"]:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll)

"""The Neo4j part of ingest alone: a corpus's graph written in groups, with load-independent costs.

    python -m bench.graph_write CORPUS_DIR [--group 64] [--rounds 2] [--profile] [--neo4j-pid PID]

The files are read, chunked and their concepts extracted as ingest does (EXTRACTOR), once; then
graphstore.services.write_documents writes them in groups into a new namespace (`round 0`: every document
new) and again (`round 1`: every document rewritten), and the namespace is wiped. Per round, one JSON line:
wall seconds, the client's CPU-seconds, and with --neo4j-pid (the local stack's is in
$STACK_DIR/neo4j/neo4j.pid) the Neo4j process's CPU-seconds split by thread kind (JIT compiler threads
show how much of a cold server's time is the JVM compiling itself). --profile runs every statement with
PROFILE and adds its db hits (a count that does not depend on the machine's load; PROFILE itself costs time,
so do not read the wall and CPU of a --profile run).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import sys
import time
import uuid
from pathlib import Path

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def thread_cpu(pid: int | None) -> dict[str, float]:
    """CPU-seconds per thread kind of a (Linux) process, from /proc; {} without a pid."""
    found: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*") if pid else ():
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            kind = "jit" if "Compiler" in name else "gc" if name.startswith(("G1", "GC")) else \
                re.sub(r"[-#\d ]+$", "", name) or "other"
            found[kind] = found.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / _TICK
    return found


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class _Clock:
    @contextlib.contextmanager
    def stage(self, name):
        yield


def documents(corpus: str) -> list[dict]:
    from django.conf import settings

    from ingestion import groups, store_sync
    from ingestion.sources import discover

    sources, _ = discover([corpus], "")
    items = groups.prepare(sources, settings.CHUNK_SIZE, settings.CHUNK_OVERLAP, settings.INGEST_MAX_FILE_BYTES,
                           _Clock())
    return [{"document_id": item.source.document_id, "title": item.title, "source": item.source.relative,
             "content_hash": item.content_hash, "concepts": found, "pairs": pairs}
            for item in items if item.skip is None
            for found, pairs in [store_sync.concepts([row.text for row in item.rows])]]


def statement_key(query: str) -> str:
    """How --profile names a statement: its first 90 characters, white space folded."""
    return " ".join(query.split())[:90]


@contextlib.contextmanager
def profiled(hits: dict[str, int]):
    """Run graph transactions' statements with PROFILE, summing each statement's db hits into `hits`."""
    from graphstore import client

    def plan_hits(plan) -> int:
        return plan.get("dbHits", 0) + sum(plan_hits(child) for child in plan.get("children", []))

    class Result:
        def __init__(self, records):
            self.records = records

        def single(self):
            return self.records[0] if self.records else None

        def __iter__(self):
            return iter(self.records)

        def consume(self):
            return None

    class Transaction:
        def __init__(self, tx):
            self.tx = tx

        def run(self, query, **params):
            result = self.tx.run("PROFILE " + query, **params)
            records = list(result)
            key = statement_key(query)
            hits[key] = hits.get(key, 0) + plan_hits(result.consume().profile)
            return Result(records)

    original = client.execute_write
    client.execute_write = lambda work, *args, **kwargs: original(
        lambda tx, *a, **k: work(Transaction(tx), *a, **k), *args, **kwargs)
    try:
        yield
    finally:
        client.execute_write = original


def run(corpus: str, group: int, rounds: int, profile: bool, neo4j_pid: int | None, log=print) -> list[dict]:
    from django.conf import settings

    from graphstore import services

    docs = documents(corpus)
    settings.RAG_NAMESPACE = f"bench_graph_{uuid.uuid4().hex[:8]}"
    services.install_constraints()
    results = []
    try:
        for round_number in range(rounds):
            hits: dict[str, int] = {}
            threads, client, started = thread_cpu(neo4j_pid), _client_cpu(), time.perf_counter()
            with profiled(hits) if profile else contextlib.nullcontext():
                for start in range(0, len(docs), group):
                    services.write_documents(docs[start:start + group])
            after = thread_cpu(neo4j_pid)
            result = {"round": round_number, "documents": len(docs), "group": group,
                      "wall_s": round(time.perf_counter() - started, 2), "client_cpu_s": round(_client_cpu() - client, 2),
                      "neo4j_cpu_s": {kind: round(after[kind] - threads.get(kind, 0.0), 2) for kind in after
                                      if after[kind] - threads.get(kind, 0.0) >= 0.01},
                      "load_1min": round(os.getloadavg()[0], 2)}
            if profile:
                result["db_hits"] = {"total": sum(hits.values()), **dict(sorted(hits.items(), key=lambda kv: -kv[1]))}
            log(json.dumps(result))
            results.append(result)
    finally:
        services.wipe_namespace()
    return results


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.graph_write", description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus")
    parser.add_argument("--group", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--neo4j-pid", type=int, default=None)
    args = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    run(args.corpus, args.group, args.rounds, args.profile, args.neo4j_pid)


if __name__ == "__main__":
    main(sys.argv[1:])

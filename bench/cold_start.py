"""The first ingest after Neo4j starts (cold JVM) against the next one (warm), with Neo4j's CPU by thread kind.

    python -m bench.cold_start CORPUS_DIR [--runs 2] [--prefix cold] [--no-restart] [--keep]

For the local stack's Neo4j (the launcher's, `$STACK_DIR/neo4j/neo4j.pid`): restarts it with the launcher
(`down neo4j`, `up neo4j`, with this environment, so NEO4J_JVM_OPTIONS / NEO4J_WARMUP_ROUNDS apply), then runs
`--runs` fresh ingests of CORPUS_DIR, each into a new PostgreSQL database, Milvus collection and namespace
(`<prefix>_<i>`: created, `migrate`, `init_stores`, then `manage.py ingest CORPUS_DIR --no-progress --json`).
Per run, one JSON line: the ingest's wall and stage seconds, and the Neo4j process's CPU-seconds over the
ingest alone (from /proc: the whole process, then by thread kind: C1/C2 JIT compiler threads, GC, Bolt
workers, other), which do not depend on the machine's load the way wall time does. Also printed: the
start-up (wall and Neo4j CPU from launch to ready, and until the warm-up ended). The databases, collections
and namespaces are dropped at the end unless --keep. Hold `flock /work/bench.lock` around runs you publish.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from bench.graph_write import _TICK

REPO = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def process_cpu(pid: int) -> float:
    """utime + stime of the whole process (threads that ended included)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICK


def thread_kinds(pid: int) -> dict[str, float]:
    """CPU-seconds of the live threads by kind: c1, c2 (JIT), gc, bolt, other."""
    found: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
            kind = ("c1" if name.startswith("C1 Compiler") else "c2" if name.startswith("C2 Compiler")
                    else "gc" if name.startswith(("G1 ", "GC ", "VM Thread")) else
                    "bolt" if name.startswith("neo4j.BoltWork") else "other")
            found[kind] = found.get(kind, 0.0) + (int(fields[11]) + int(fields[12])) / _TICK
    return found


def neo4j_pid() -> int:
    stack = Path(os.environ.get("STACK_DIR") or REPO / ".stack")
    return int((stack / "neo4j" / "neo4j.pid").read_text().strip())


def _run(command: list[str], env: dict | None = None, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, **kwargs)
    if result.returncode:
        raise SystemExit(f"ERROR {' '.join(command[:4])} exited {result.returncode}: "
                         f"{(result.stderr or result.stdout).strip().splitlines()[-1:]}")
    return result


def restart(wait_warmup: bool = True) -> dict:
    launcher = [PYTHON, "-m", "infrastructure.local"]
    _run([*launcher, "down", "neo4j"])
    started = time.monotonic()
    _run([*launcher, "up", "neo4j"])
    pid = neo4j_pid()
    ready = {"ready_wall": round(time.monotonic() - started, 2), "ready_cpu": process_cpu(pid),
             "ready_threads": {kind: round(cpu, 2) for kind, cpu in sorted(thread_kinds(pid).items())}}
    log = Path(os.environ.get("STACK_DIR") or REPO / ".stack") / "neo4j" / "warmup.log"
    if os.environ.get("NEO4J_WARMUP_ROUNDS", "").strip() == "0":
        log.unlink(missing_ok=True)  # no warm-up this time: not the last one's log
    while wait_warmup and log.exists() and "graph warm-up" not in log.read_text(errors="replace") \
            and time.monotonic() - started < 600:
        time.sleep(0.2)  # the background warm-up (NEO4J_WARMUP_ROUNDS): its end, to report its cost
    ready.update(warm_wall=round(time.monotonic() - started, 2), warm_cpu=process_cpu(pid),
                 warmup=log.read_text(errors="replace").strip()[-160:] if log.exists() else "")
    return ready


def _database_url(name: str) -> str:
    """The stack's PostgreSQL (DATABASE_URL, or the local stack's default as `make run` uses) with another database."""
    from bench.stack import database_url

    return database_url(name)


def _admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(_database_url("postgres"), autocommit=True) as connection:
        connection.execute(sql)


def run_environment(name: str) -> dict:
    return {**os.environ, "DATABASE_URL": _database_url(name), "MILVUS_COLLECTION": f"{name}_chunks",
            "RAG_NAMESPACE": f"{name}_ns", "DJANGO_DEBUG": "0"}


def ingest(corpus: str, name: str) -> dict:
    _admin(f'DROP DATABASE IF EXISTS "{name}"')
    _admin(f'CREATE DATABASE "{name}"')
    env = run_environment(name)
    _run([PYTHON, "manage.py", "migrate", "-v0"], env)
    started = time.monotonic()
    _run([PYTHON, "manage.py", "init_stores"], env)
    init_wall = time.monotonic() - started
    pid = neo4j_pid()
    load = os.getloadavg()[0]
    cpu_before, kinds_before = process_cpu(pid), thread_kinds(pid)
    started = time.monotonic()
    result = _run([PYTHON, "manage.py", "ingest", corpus, "--no-progress", "--json"], env)
    wall = time.monotonic() - started
    cpu_after, kinds_after = process_cpu(pid), thread_kinds(pid)
    report = json.loads(result.stdout)
    return {"run": name, "load": round(load, 2), "init_stores_s": round(init_wall, 2), "ingest_s": report["seconds"], "process_wall": round(wall, 2),
            "chunks": report["chunks"], "stages": report["stage_seconds"],
            "neo4j_cpu": round(cpu_after - cpu_before, 2),
            "neo4j_threads": {kind: round(kinds_after.get(kind, 0.0) - kinds_before.get(kind, 0.0), 2)
                              for kind in sorted(kinds_after)}}


def drop(name: str) -> None:
    env = run_environment(name)
    with contextlib.suppress(SystemExit):
        _run([PYTHON, "manage.py", "milvus_drop", "--yes"], env)
    with contextlib.suppress(SystemExit):
        _run([PYTHON, "manage.py", "shell", "-c", "from graphstore.services import wipe_namespace; wipe_namespace()"],
             env)
    _admin(f'DROP DATABASE IF EXISTS "{name}"')


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cold_start", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("corpus")
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--prefix", default="cold")
    parser.add_argument("--no-restart", action="store_true")
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--no-wait", action="store_true", help="ingest at once, while the warm-up runs")
    args = parser.parse_args(argv)
    print(json.dumps({"options": os.environ.get("NEO4J_JVM_OPTIONS", ""),
                      "warmup_rounds": os.environ.get("NEO4J_WARMUP_ROUNDS", ""), "load": round(os.getloadavg()[0], 2),
                      **({} if args.no_restart else {"start": restart(not args.no_wait)})}), flush=True)
    names = [f"{args.prefix}_{index}" for index in range(args.runs)]
    try:
        for name in names:
            print(json.dumps(ingest(args.corpus, name)), flush=True)
    finally:
        for name in names if not args.keep else ():
            drop(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Test helpers that pause, resume, stop and start the real engines of the test stack (never the dev stack).

They act on the stack of the test profile (RAG_STACK=test: .stack/test/, its own ports), the one `make test`
starts: pids come from its state directory, and `python -m infrastructure.local` runs with its variables.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from infrastructure.local import profiles
from infrastructure.local.milvus import MilvusStandalone
from infrastructure.local.neo4j_engine import Neo4j
from infrastructure.local.postgres import Postgres

ENGINES = {"postgres": Postgres, "milvus": MilvusStandalone, "neo4j": Neo4j}
# The environment `make test` gives the launcher: this one with the test profile's variables (always the
# local test stack's own, even under RAG_TEST_ALLOW_STORES=1).
TEST_ENV = profiles.with_profile(os.environ, "test")
TEST_STACK_DIR = Path(TEST_ENV["STACK_DIR"])


def server_pids(store: str) -> list[int]:
    engine = ENGINES[store](stack_dir=TEST_STACK_DIR)
    if store == "milvus":
        return [process.pid for process in engine._binary_processes()]
    pid = engine.pid()
    assert pid, f"{store} is not running under the test stack ({engine.pid_file})"
    return [pid]


@contextlib.contextmanager
def paused(store: str):
    """SIGSTOP the engine's server process(es); SIGCONT whatever happens."""
    pids = server_pids(store)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def stack(action: str, store: str) -> None:
    name = "milvus" if store == "milvus" else store
    result = subprocess.run([sys.executable, "-W", "ignore", "-m", "infrastructure.local", action, name],
                            capture_output=True, text=True, timeout=300, env=TEST_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@contextlib.contextmanager
def stopped(store: str):
    """Stop the engine for the block, then start it again and wait until it answers."""
    from django.db import connections

    stack("down", store)
    try:
        yield
    finally:
        stack("up", store)
        connections.close_all()  # connections opened before the restart are dead


def eventually(predicate, timeout: float = 90.0, interval: float = 1.0):
    """Poll until predicate() is truthy; return its value, or the last one after the deadline."""
    deadline = time.monotonic() + timeout
    value = predicate()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = predicate()
    return value

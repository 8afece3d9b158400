"""An engine down at start-up: `manage.py init_stores` retries a bounded number of times with backoff, then
exits non-zero with one clear line naming the store and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.reliability import support

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
CLOSED = {
    "PostgreSQL": {"DATABASE_URL": "postgres://rag:rag-local-password@127.0.0.1:9/rag"},
    "Milvus": {"MILVUS_URI": "http://127.0.0.1:9"},
    "Neo4j": {"NEO4J_URI": "bolt://127.0.0.1:9"},
}


def run_manage(*args, env: dict, timeout: float = 120) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "TEST_DB"))}
    full.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=full, capture_output=True,
                          text=True, timeout=timeout)


@pytest.mark.parametrize("store", list(CLOSED))
def test_init_stores_with_a_store_down_retries_then_exits_with_one_line(store, tmp_path):
    env = {"STORE_RETRY_ATTEMPTS": "2", "STORE_RETRY_MAX_SECONDS": "3", "STORE_RETRY_INITIAL_WAIT": "0.2",
           "MILVUS_URI": str(tmp_path / "lite.db"), "EMBEDDING_DIM": "32",
           "MILVUS_COLLECTION": support.unique("rel_start_"), **CLOSED[store]}
    started = time.monotonic()
    result = run_manage("init_stores", env=env)
    took = time.monotonic() - started
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stdout + result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    retries = [line for line in lines if "retrying in" in line]
    # A log line: time, level, logger and request id ("-" outside a request) first (core.logs).
    assert len(retries) == 1 and f" WARNING core.retry [-] {store} not reachable (attempt 1/2" in retries[0], lines
    errors = [line for line in lines if line not in retries]
    assert len(errors) == 1, lines
    assert errors[0].startswith(f"CommandError: {store} is unreachable") and "gave up after 2 attempts" in errors[0]
    assert took < 20, f"init_stores took {took:.1f}s with {store} down"  # interpreter start-up + 3 s budget
    support.TIMINGS[f"init_stores with {store} down: exit 1 after"] = took
    print(f"\n{store} down: exit {result.returncode} after {took:.1f}s: {errors[0]}")

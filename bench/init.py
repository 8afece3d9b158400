"""`manage.py init_stores` wall time, as a user runs it: the first run on empty stores, then repeat runs.

Each run is a fresh `manage.py` process (interpreter and Django start-up included, reported apart) on a
database and a Milvus collection of its own. Neo4j community edition has one database whose uniqueness
constraints are shared, so even the "first" run finds them in place: its Neo4j part is a check.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench import stack
from bench.stats import summary

DATABASE = "rag_bench_init"
MANAGE = Path(__file__).resolve().parent.parent / "manage.py"


def _timed(argv: list[str], env: dict) -> float:
    started = time.perf_counter()
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[1:])} failed: {(result.stderr or result.stdout).strip()[-1000:]}")
    return seconds


def run(repeats: int = 5) -> dict:
    stack.create_database(DATABASE, drop=True)
    stack.drop_collection(stack.INIT_COLLECTION)
    env = {**os.environ, "DATABASE_URL": stack.database_url(DATABASE), "MILVUS_COLLECTION": stack.INIT_COLLECTION}
    command = [sys.executable, str(MANAGE), "init_stores"]
    startup = [sys.executable, "-c", "import django; django.setup()"]
    try:
        first = _timed(command, env)
        again = [_timed(command, env) for _ in range(repeats)]
        boot = [_timed(startup, {**env, "DJANGO_SETTINGS_MODULE": "config.settings"}) for _ in range(3)]
    finally:
        stack.drop_collection(stack.INIT_COLLECTION)
        from django.db import connections

        connections.close_all()
        stack.drop_database(DATABASE)
    return {
        "first_s": round(first, 3),
        "repeat_s": summary([s * 1000 for s in again]) | {"unit": "ms"},
        "python_django_startup_s": round(min(boot), 3),
        "repeat_max_s": round(max(again), 3),
    }

"""Real queue workers for the tests: `manage.py procrastinate worker` in separate processes, on the test database
and this test's Milvus collection and graph namespace, with fast heartbeats and stalled-job checks."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STARTED = re.compile(r"Starting job jobs\.ingest_upload\[(\d+)\]")


def worker_env(settings, **extra) -> dict:
    """The test's settings as environment variables (a worker reads nothing else)."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update({
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "MILVUS_URI": settings.MILVUS_URI, "MILVUS_COLLECTION": settings.MILVUS_COLLECTION,
        "RAG_NAMESPACE": settings.RAG_NAMESPACE, "EMBEDDER": "hashing", "EMBEDDING_DIM": str(settings.EMBEDDING_DIM),
        "EXTRACTOR": "keyphrase", "CHUNK_SIZE": str(settings.CHUNK_SIZE), "CHUNK_OVERLAP": str(settings.CHUNK_OVERLAP),
        "MILVUS_TIMEOUT": "20", "SEARCH_TIMEOUT": "60",
        # A worker silent for 2 s is dead; the stalled-jobs check runs every second.
        "JOBS_HEARTBEAT_SECONDS": "0.5", "JOBS_STALLED_SECONDS": "2", "JOBS_STALLED_CHECK_CRON": "* * * * * *",
        "DRIFT_CHECK_CRON": "0 0 1 1 *", "JOBS_RETRY_INITIAL_WAIT": "0.5", "JOBS_RETRY_MAX_WAIT": "2",
        "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
    })
    env.update(extra)
    return env


class Worker:
    def __init__(self, env: dict, log: Path, name: str):
        self.log, self.name = log, name
        self._file = open(log, "wb")
        self.process = subprocess.Popen([sys.executable, "manage.py", "procrastinate", "worker", "--name", name],
                                        cwd=REPO, env=env, stdout=self._file, stderr=subprocess.STDOUT)

    def started_jobs(self) -> list[int]:
        return [int(n) for n in STARTED.findall(self.log.read_text(errors="replace"))]

    def tail(self, lines: int = 15) -> str:
        return f"--- {self.name}:\n" + "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: no goodbye, its running job stays `doing`, its heartbeat stops."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # graceful: the running job finishes first
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=30)
        self._file.close()


@contextlib.contextmanager
def workers(settings, tmp_path: Path, count: int, **extra):
    env = worker_env(settings, **extra)
    started = [Worker(env, tmp_path / f"worker{n}.log", f"test-worker-{n}") for n in range(count)]
    try:
        yield started
    finally:
        for worker in started:
            worker.stop()


def wait_for(predicate, timeout: float, what: str, running=(), interval: float = 0.2):
    """Poll predicate() until truthy (returned) or the deadline: then fail, with the workers' last lines."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        dead = [w for w in running if w.process.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = "a worker exited" if dead else f"not within {timeout:.0f} s"
            pytest.fail(f"{what}: {why}\n" + "\n".join(w.tail() for w in running), pytrace=False)
        time.sleep(interval)

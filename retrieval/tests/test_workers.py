"""The search worker pool (no store needed): bounded, threads reused most-recent-first, queued work cancelled at
shutdown; the store call bounds stay below SEARCH_TIMEOUT; work abandoned by a caller is counted until done."""

from __future__ import annotations

import threading
import time

import pytest

from core.deadline import ABANDONED, DeadlineExceeded, call_with_deadline
from graphstore import client as graph_client
from retrieval.workers import WorkerPool


def test_sequential_tasks_reuse_one_thread():
    pool = WorkerPool(4, "t-seq")
    try:
        names = {pool.submit(lambda: threading.current_thread().name).result(timeout=5) for _ in range(50)}
        assert len(names) == 1
    finally:
        pool.shutdown(wait=5)


def test_at_most_size_threads_and_the_rest_wait_in_line():
    pool = WorkerPool(3, "t-bound")
    release = threading.Event()
    running: list[str] = []

    def task():
        running.append(threading.current_thread().name)
        release.wait(10)
        return threading.current_thread().name

    try:
        futures = [pool.submit(task) for _ in range(5)]
        time.sleep(0.3)
        assert len(running) == 3 and sum(f.running() for f in futures) == 3
        release.set()
        assert len({f.result(timeout=5) for f in futures}) == 3
    finally:
        release.set()
        pool.shutdown(wait=5)


def test_shutdown_cancels_queued_work_and_ends_idle_threads():
    pool = WorkerPool(1, "t-shut")
    release = threading.Event()
    busy = pool.submit(release.wait, 10)
    queued = pool.submit(lambda: "never")
    time.sleep(0.1)
    pool.shutdown()
    assert queued.cancelled()
    release.set()
    assert busy.result(timeout=5) is True
    with pytest.raises(RuntimeError):
        pool.submit(lambda: None)
    time.sleep(0.2)
    assert not [t for t in threading.enumerate() if t.name.startswith("t-shut")]


def test_errors_reach_the_caller_and_the_thread_goes_on():
    pool = WorkerPool(1, "t-err")
    try:
        with pytest.raises(ZeroDivisionError):
            pool.submit(lambda: 1 / 0).result(timeout=5)
        assert pool.submit(lambda: 2).result(timeout=5) == 2
    finally:
        pool.shutdown(wait=5)


@pytest.mark.parametrize("search_timeout, neo4j_timeout, retry_seconds", [(30, 10, 30), (4, 2, 2), (1, 0.5, 30)])
def test_the_neo4j_call_bound_is_below_search_timeout(settings, search_timeout, neo4j_timeout, retry_seconds):
    settings.SEARCH_TIMEOUT, settings.NEO4J_TIMEOUT = search_timeout, neo4j_timeout
    settings.STORE_RETRY_MAX_SECONDS = retry_seconds
    assert 0 < graph_client.call_timeout() < settings.SEARCH_TIMEOUT


def test_a_call_abandoned_on_its_deadline_is_counted_until_it_returns():
    release = threading.Event()
    before = ABANDONED.count(["Teststore"])
    with pytest.raises(DeadlineExceeded, match="Teststore"):
        call_with_deadline("Teststore", 0.1, release.wait, 10)
    assert ABANDONED.count(["Teststore"]) == before + 1
    release.set()
    deadline = time.monotonic() + 5
    while ABANDONED.count(["Teststore"]) > before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ABANDONED.count(["Teststore"]) == before
    assert call_with_deadline("Teststore", 1, lambda: 7) == 7 and ABANDONED.count(["Teststore"]) == before

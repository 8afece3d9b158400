"""The search worker threads: a bounded pool whose threads keep their PostgreSQL connections (docs/concurrency.md).

Before each task a worker does what Django does between two requests (close_if_unusable_or_obsolete: a
connection with errors, left outside autocommit, or older than CONN_MAX_AGE is closed), but without the
health-check round trip that CONN_HEALTH_CHECKS adds to the first query of every request (a `SELECT 1`, about
as long as the search's own hydration query): an idle connection the server has closed or terminated (restart,
pg_terminate_backend, idle timeout) has a readable socket (the server's goodbye, or EOF), which a zero-timeout
poll() sees without a round trip; only then is the connection checked for real (and replaced). A connection
that breaks silently (a network partition) fails its next query, which the search reports as the store
being unavailable, and is replaced before the worker's next task (Django's errors_occurred).
"""

from __future__ import annotations

import atexit
import contextvars
import queue
import select
import threading
import time
from collections import deque
from concurrent.futures import Future

from django.conf import settings
from django.db import connections

__all__ = ["WorkerPool", "pool", "refresh_connections", "shutdown_workers"]


def refresh_connections() -> None:
    """Drop this thread's unusable or expired connections; mark a quiet idle one as checked (no round trip)."""
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()  # also sets health_check_done = False
        if connection.connection is not None and not connection.health_check_done and _quiet(connection.connection):
            connection.health_check_done = True  # else Django runs its check (SELECT 1) before the next query


def _quiet(raw) -> bool:
    """True if the driver connection is open, idle outside a transaction, and the server sent nothing since."""
    try:
        import psycopg

        if raw.closed or raw.broken or raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            return False
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except Exception:  # another backend, or a connection already gone: let Django check it
        return False


_IDLE = object()


class WorkerPool:
    """At most `size` daemon threads, started on demand and kept; each keeps its Django connections.

    The most recently idle thread takes the next task (so a sequential caller reuses one thread and one
    connection); tasks beyond `size` running ones wait in a queue. Before each task the thread drops a
    connection that is broken or older than CONN_MAX_AGE, as Django does between requests
    (refresh_connections); its connections are closed when the thread ends (shutdown(), or process exit).
    """

    def __init__(self, size: int, name: str):
        self.size, self.name = size, name
        self._lock = threading.Lock()
        self._idle: list[tuple[queue.SimpleQueue, threading.Thread]] = []  # idle threads, most recent last
        self._pending: deque = deque()
        self._threads = 0
        self._closed = False

    def submit(self, func, *args) -> Future:
        future: Future = Future()
        # The caller's context (its request id, for log lines) goes with the task into the worker thread.
        item = (future, contextvars.copy_context().run, (func, *args))
        with self._lock:
            if self._closed:
                raise RuntimeError(f"the {self.name} pool is shut down")
            if self._idle:
                self._idle.pop()[0].put(item)
            elif self._threads < self.size:
                self._threads += 1
                threading.Thread(target=self._work, args=(item,), name=f"{self.name}-{self._threads}",
                                 daemon=True).start()
            else:
                self._pending.append(item)
        return future

    def shutdown(self, wait: float = 0.0) -> None:
        """Idle threads end now, closing their connections (waited for up to `wait` seconds); busy ones after
        their task; queued tasks are cancelled."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
            pending, self._pending = list(self._pending), deque()
        for future, _, _ in pending:
            future.cancel()
        for inbox, _ in idle:
            inbox.put(None)
        deadline = time.monotonic() + wait
        for _, thread in idle:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _work(self, item) -> None:
        inbox: queue.SimpleQueue = queue.SimpleQueue()
        try:
            while item is not None:
                future, func, args = item
                result = error = None
                if future.set_running_or_notify_cancel():
                    try:
                        refresh_connections()
                        result = func(*args)
                    except BaseException as raised:  # handed to whoever waits on the future
                        error = raised
                # Idle again (or onto the next queued task) before the caller learns the result, so that a
                # caller submitting its next task right away finds this thread, not a new one.
                item = self._next(inbox)
                if error is not None:
                    future.set_exception(error)
                elif not future.cancelled():
                    future.set_result(result)
                del future, func, args, result, error
                if item is _IDLE:
                    item = inbox.get()
        finally:
            connections.close_all()
            with self._lock:
                self._threads -= 1

    def _next(self, inbox: queue.SimpleQueue):
        """The next queued task; None when the pool is shut down; else _IDLE, with this thread listed idle."""
        with self._lock:
            if self._pending:
                return self._pending.popleft()
            if self._closed:
                return None
            self._idle.append((inbox, threading.current_thread()))
            return _IDLE


_pools: dict[str, WorkerPool] = {}
_pools_lock = threading.Lock()
def pool(name: str) -> WorkerPool:
    size = settings.SEARCH_WORKERS
    with _pools_lock:
        pool = _pools.get(name)
        if pool is None or pool.size != size:
            if pool is not None:
                pool.shutdown()
            pool = _pools[name] = WorkerPool(size, f"rag-{name}")
        return pool


@atexit.register
def shutdown_workers(wait: float = 5.0) -> None:
    """End the worker threads: idle ones at once, closing their PostgreSQL connections (waited for up to
    `wait` seconds), busy ones when their task ends. The next search starts new ones. For process exit, and
    for tests, whose database cannot be dropped while a worker is connected to it."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.shutdown(wait)



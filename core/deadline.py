"""Bounded waits for calls whose driver can block forever on a server that stopped answering.

A paused (SIGSTOPped) or wedged server keeps its TCP connections open and the kernel keeps ACKing, so a
read on an established socket never times out: the Neo4j driver and psycopg have no read timeout. The
call runs in a daemon thread and the caller waits at most `seconds`; on expiry it gets StoreUnavailable
naming the store. The abandoned call finishes (or fails) by itself once the server answers again, so
nothing needs a restart; a call that had not started yet is cancelled.

Work a caller stopped waiting for is counted in ABANDONED (per store) until it finishes, so that callers
can refuse to start more work on a store that already holds too much of it (retrieval.pipeline does:
SEARCH_MAX_ABANDONED) instead of piling up threads and connections behind a stuck server.
"""

from __future__ import annotations

import contextvars
import itertools
import threading
from collections import Counter

from core.retry import StoreUnavailable


class DeadlineExceeded(StoreUnavailable):
    """The store did not answer within the bound; the message names the store and the bound."""

    def __init__(self, store: str, seconds: float, what: str = ""):
        self.seconds = seconds
        super().__init__(store, f"no answer within {seconds:g}s{f' ({what})' if what else ''}")


class Abandoned:
    """Process-wide count of abandoned work still running, by store (thread-safe)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._work: dict[int, str] = {}
        self._tokens = itertools.count(1)

    def add(self, store: str) -> int:
        with self._lock:
            token = next(self._tokens)
            self._work[token] = store
            return token

    def finish(self, token: int) -> None:
        with self._lock:
            self._work.pop(token, None)

    def counts(self) -> Counter:
        """{store: pieces of abandoned work still running}."""
        with self._lock:
            return Counter(self._work.values())

    def count(self, stores=None) -> int:
        counts = self.counts()
        return sum(counts.values()) if stores is None else sum(counts[store] for store in stores)


ABANDONED = Abandoned()


def call_with_deadline(store: str, seconds: float, func, *args, what: str = "", **kwargs):
    """func(*args, **kwargs) in a helper thread (context variables carried over); at most `seconds` of waiting.

    On expiry the helper thread is counted in ABANDONED[store] until the call returns."""
    outcome: dict = {}
    context = contextvars.copy_context()
    state = threading.Lock()
    token: list[int] = []  # set by the caller once it gives up; read by the helper when it ends

    def run():
        try:
            outcome["value"] = context.run(func, *args, **kwargs)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error
        finally:
            with state:
                outcome["done"] = True
                if token:
                    ABANDONED.finish(token[0])

    worker = threading.Thread(target=run, name=f"{store.lower()}-call", daemon=True)
    worker.start()
    worker.join(seconds)
    with state:
        if "done" not in outcome:
            token.append(ABANDONED.add(store))
            raise DeadlineExceeded(store, seconds, what)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

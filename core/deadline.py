"""Bounded waits for calls whose driver can block forever on a server that stopped answering.

A paused (SIGSTOPped) or wedged server keeps its TCP connections open and the kernel keeps ACKing, so a
read on an established socket never times out: the Neo4j driver and psycopg have no read timeout. The
call runs in a daemon thread and the caller waits at most `seconds`; on expiry it gets StoreUnavailable
naming the store. The abandoned call finishes (or fails) by itself once the server answers again, so
nothing needs a restart; a call that had not started yet is cancelled.
"""

from __future__ import annotations

import contextvars
import threading

from core.retry import StoreUnavailable


class DeadlineExceeded(StoreUnavailable):
    """The store did not answer within the bound; the message names the store and the bound."""

    def __init__(self, store: str, seconds: float, what: str = ""):
        self.seconds = seconds
        super().__init__(store, f"no answer within {seconds:g}s{f' ({what})' if what else ''}")


def call_with_deadline(store: str, seconds: float, func, *args, what: str = "", **kwargs):
    """func(*args, **kwargs) in a helper thread (context variables carried over); at most `seconds` of waiting."""
    outcome: dict = {}
    context = contextvars.copy_context()

    def run():
        try:
            outcome["value"] = context.run(func, *args, **kwargs)
        except BaseException as error:  # handed to the caller below
            outcome["error"] = error

    worker = threading.Thread(target=run, name=f"{store.lower()}-call", daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        raise DeadlineExceeded(store, seconds, what)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]

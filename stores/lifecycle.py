"""The one place that closes what a process opened: its DatabaseManager, the Milvus and Neo4j clients, and its
idle PostgreSQL connections. atexit (StoresConfig.ready), gunicorn's worker_exit hook and the tests all call
`close_opened_clients`, so a close never leaves a stale process manager behind for the next `current()`.

Kept apart from manager.py, which imports both clients: the admin's processes must not load pymilvus just to
close nothing. That is why the process manager's slot lives here and is filled by a factory that manager.py
passes in, rather than this module importing the manager.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TypeVar

from django.db import connections

Manager = TypeVar("Manager")

_lock = threading.Lock()
_process_manager = None


def process_manager(create: Callable[[], Manager]) -> Manager:
    """The process's manager, made by `create` on first use (or after a close) and kept until the close."""
    global _process_manager
    with _lock:
        if _process_manager is None:
            _process_manager = create()
        return _process_manager


def close_opened_clients() -> None:
    """Forget the process's manager, unbind and close the Milvus and Neo4j connections this process opened,
    and close its idle PostgreSQL connections; the next store call opens anew."""
    global _process_manager
    with _lock:
        _process_manager = None
    for module_name in ("vectorstore.client", "graphstore.client"):
        module = sys.modules.get(module_name)  # never imported: nothing was opened
        bound = module.bind(None) if module is not None else None
        if bound is not None:
            bound.close()
    close_database_connections()


def close_database_connections() -> None:
    """This thread's PostgreSQL connections, except one inside a transaction (a test's, or a caller's)."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close()

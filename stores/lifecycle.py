"""Closing what a process opened, without loading a driver it never used (kept apart from manager.py, which
imports both clients: the admin's processes must not load pymilvus just to close nothing)."""

from __future__ import annotations

import sys

from django.db import connections


def close_opened_clients() -> None:
    """Unbind and close the Milvus and Neo4j connections this process opened, and its idle PostgreSQL
    connections. Runs at exit (StoresConfig.ready) and from gunicorn's worker_exit hook."""
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

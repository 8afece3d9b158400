"""Writes that concern the three stores together: create what they need (`manage.py init_stores`).

Safe to run any number of times: each step says what it created and what was already there. With
`check`, nothing changes and what is missing is returned.
"""

from __future__ import annotations

import io
from collections.abc import Callable

from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.retry import StoreUnavailable, call_with_retry, describe_error
from graphstore import selectors as graph_selectors
from graphstore import services as graph_services
from vectorstore import client as milvus_client
from vectorstore import selectors as vector_selectors
from vectorstore import services as vector_services


class InitError(Exception):
    """A store could not be initialised; the message is one line naming it, without secrets."""


def initialise(*, check: bool = False, echo: Callable[[str], None] = print) -> list[str]:
    """PostgreSQL migrations, the Milvus collection with its index (loaded), the Neo4j constraints."""
    missing: list[str] = []
    for store, step in (("PostgreSQL", _postgres), ("Milvus", _milvus), ("Neo4j", _neo4j)):
        try:
            missing += step(check, echo)
        except StoreUnavailable as error:
            raise InitError(str(error)) from None
        except InitError:
            raise
        except Exception as error:  # any store failure: one line naming the store, no traceback wall
            raise InitError(f"{store}: {describe_error(error)}") from None
    return missing


def _pending_migrations() -> list[str]:
    def plan():
        connection.close_if_unusable_or_obsolete()  # a retry after a server restart needs a new connection
        executor = MigrationExecutor(connection)
        return executor.migration_plan(executor.loader.graph.leaf_nodes())

    return [f"{migration.app_label}.{migration.name}" for migration, _ in call_with_retry("PostgreSQL", plan)]


def _postgres(check: bool, echo) -> list[str]:
    pending = _pending_migrations()
    if not pending:
        echo("PostgreSQL: migrations already applied")
        return []
    if check:
        echo(f"PostgreSQL: {len(pending)} migration(s) not applied")
        return [f"{len(pending)} PostgreSQL migration(s)"]
    call_command("migrate", interactive=False, verbosity=0, stdout=io.StringIO())
    echo(f"PostgreSQL: applied {len(pending)} migration(s)")
    return []


def _milvus(check: bool, echo) -> list[str]:
    if check:
        status = vector_selectors.collection_status(with_count=False)
        name = status["collection"]
        if not status["exists"]:
            echo(f"Milvus: collection {name} missing")
            return [f"Milvus collection {name}"]
        if status["schema_differences"]:
            raise InitError(f"Milvus: collection {name} differs from the expected schema: "
                            + "; ".join(status["schema_differences"]))
        if status["load_state"] != "Loaded":
            echo(f"Milvus: collection {name} not loaded")
            return [f"Milvus collection {name} not loaded"]
        echo(f"Milvus: collection {name} exists, index ready, loaded")
        return []
    # Opening retries on its own (core.retry); once open, the whole step is retried on a transient failure too:
    # a Milvus server restarted a moment ago answers reads at once but can stall DDL past MILVUS_TIMEOUT until
    # its previous process's sessions expire (up to 30 s; docs/operations.md). The step is idempotent.
    milvus_client.get_client()
    try:
        outcome = call_with_retry("Milvus", vector_services.ensure_collection)
    except vector_services.SchemaMismatch as error:
        raise InitError(f"Milvus: {error}") from None
    name = milvus_client.collection_name()
    if outcome == "created":
        echo(f"Milvus: created collection {name} with its index, loaded")
    else:
        echo(f"Milvus: collection {name} already exists (schema checked, loaded)")
    return []


def _neo4j(check: bool, echo) -> list[str]:
    if check:
        status = graph_selectors.constraint_status()
        echo(f"Neo4j: constraints present: {', '.join(status['present']) or 'none'}")
        return ([f"Neo4j constraint {name}" for name in status["missing"]]
                + [f"Neo4j: drop pre-namespace constraint {name}" for name in status["legacy"]])
    report = graph_services.install_constraints()
    for name in report["dropped"]:
        echo(f"Neo4j: dropped pre-namespace constraint {name}")
    if report["adopted"]:
        echo(f"Neo4j: adopted {report['adopted']} un-namespaced node(s) into namespace {settings.RAG_NAMESPACE} "
             "(run `manage.py reconcile` to rebuild their edges)")
    if report["not_adopted"]:
        echo(f"Neo4j: left {report['not_adopted']} un-namespaced node(s) whose identity the namespace already holds")
    for name in report["created"]:
        echo(f"Neo4j: created constraint {name}")
    for name in report["existing"]:
        echo(f"Neo4j: constraint {name} already exists")
    return []

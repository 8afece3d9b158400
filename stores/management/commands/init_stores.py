"""`manage.py init_stores`: migrations, the Milvus collection with its index (loaded), the Neo4j constraints.

Safe to run any number of times: it says what it created and what was already there. `--check`
changes nothing and exits 1 when anything is missing.
"""

from __future__ import annotations

import io

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core.retry import StoreUnavailable, call_with_retry, describe_error


def _pending_migrations() -> list[str]:
    def plan():
        connection.close_if_unusable_or_obsolete()  # a retry after a server restart needs a new connection
        executor = MigrationExecutor(connection)
        return executor.migration_plan(executor.loader.graph.leaf_nodes())

    return [f"{migration.app_label}.{migration.name}" for migration, _ in call_with_retry("PostgreSQL", plan)]


class Command(BaseCommand):
    help = "Create everything the three stores need (idempotent); --check only reports."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report what is missing, change nothing")

    def handle(self, *args, check: bool = False, **options):
        missing: list[str] = []
        for store, step in (("PostgreSQL", self._postgres), ("Milvus", self._milvus), ("Neo4j", self._neo4j)):
            try:
                missing += step(check)
            except StoreUnavailable as error:
                raise CommandError(str(error)) from None
            except CommandError:
                raise
            except Exception as error:  # any store failure: one line naming the store, no traceback wall
                raise CommandError(f"{store}: {describe_error(error)}") from None
        if check and missing:
            raise CommandError("missing: " + "; ".join(missing) + " (run `manage.py init_stores`)")
        if check:
            self.stdout.write(self.style.SUCCESS("all stores are initialised"))

    def _postgres(self, check: bool) -> list[str]:
        pending = _pending_migrations()
        if not pending:
            self.stdout.write("PostgreSQL: migrations already applied")
            return []
        if check:
            self.stdout.write(f"PostgreSQL: {len(pending)} migration(s) not applied")
            return [f"{len(pending)} PostgreSQL migration(s)"]
        call_command("migrate", interactive=False, verbosity=0, stdout=io.StringIO())
        self.stdout.write(self.style.SUCCESS(f"PostgreSQL: applied {len(pending)} migration(s)"))
        return []

    def _milvus(self, check: bool) -> list[str]:
        from vectorstore import client, selectors, services

        if check:
            status = selectors.collection_status(with_count=False)
            name = status["collection"]
            if not status["exists"]:
                self.stdout.write(f"Milvus: collection {name} missing")
                return [f"Milvus collection {name}"]
            if status["schema_differences"]:
                raise CommandError(f"Milvus: collection {name} differs from the expected schema: "
                                   + "; ".join(status["schema_differences"]))
            if status["load_state"] != "Loaded":
                self.stdout.write(f"Milvus: collection {name} not loaded")
                return [f"Milvus collection {name} not loaded"]
            self.stdout.write(f"Milvus: collection {name} exists, index ready, loaded")
            return []
        try:
            outcome = services.ensure_collection()
        except services.SchemaMismatch as error:
            raise CommandError(f"Milvus: {error}") from None
        name = client.collection_name()
        if outcome == "created":
            self.stdout.write(self.style.SUCCESS(f"Milvus: created collection {name} with its index, loaded"))
        else:
            self.stdout.write(f"Milvus: collection {name} already exists (schema checked, loaded)")
        return []

    def _neo4j(self, check: bool) -> list[str]:
        from graphstore import selectors, services

        if check:
            status = selectors.constraint_status()
            self.stdout.write(f"Neo4j: constraints present: {', '.join(status['present']) or 'none'}")
            return [f"Neo4j constraint {name}" for name in status["missing"]]
        report = services.install_constraints()
        for name in report["created"]:
            self.stdout.write(self.style.SUCCESS(f"Neo4j: created constraint {name}"))
        for name in report["existing"]:
            self.stdout.write(f"Neo4j: constraint {name} already exists")
        return []

"""PostgreSQL readiness: a trivial query and the app's migrations applied."""

from __future__ import annotations

import dataclasses

from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from health_check.exceptions import ServiceUnavailable

from core.health import StoreCheck


@dataclasses.dataclass(repr=False)
class PostgresCheck(StoreCheck):
    store = "postgres"
    alias: str = "default"

    def probe(self) -> None:
        connection = connections[self.alias]
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            executor = MigrationExecutor(connection)
            pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
            if pending:
                raise ServiceUnavailable(f"{len(pending)} migration(s) not applied; run `manage.py init_stores`")
        finally:
            connection.close()  # probes run in a pool thread: leave no connection behind

"""Neo4j readiness: Bolt answers a trivial read and the per-namespace unique constraints are in place."""

from __future__ import annotations

import dataclasses

from health_check.exceptions import ServiceUnavailable

from core.health import StoreCheck
from graphstore import client, selectors


@dataclasses.dataclass(repr=False)
class Neo4jCheck(StoreCheck):
    store = "neo4j"

    def probe(self) -> None:
        client.read("RETURN 1 AS ok")
        status = selectors.constraint_status()
        if status["missing"]:
            raise ServiceUnavailable("missing unique constraints: " + ", ".join(status["missing"])
                                     + "; run `manage.py init_stores`")
        if status["legacy"]:
            raise ServiceUnavailable("pre-namespace unique constraints still present: " + ", ".join(status["legacy"])
                                     + "; run `manage.py init_stores`")

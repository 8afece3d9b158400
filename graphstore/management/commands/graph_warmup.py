"""Warm a just-started Neo4j with the ingest's and the search's statements on made-up data (graphstore.warmup).

`infrastructure.local up` runs this in the background after it started Neo4j (NEO4J_WARMUP_ROUNDS rounds,
output in $STACK_DIR/neo4j/warmup.log). The data lives in a namespace of its own, deleted at the end.
"""

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from neo4j.exceptions import DriverError, Neo4jError

from core.redact import redact
from core.retry import StoreUnavailable, describe_error
from graphstore import warmup
from graphstore.client import GraphAuthError


class Command(BaseCommand):
    help = "Run the graph write and search statements on made-up data in a throwaway namespace, then delete it."

    def add_arguments(self, parser):
        parser.add_argument("--rounds", type=int, default=3, help="rounds of ~700 made-up documents (default 3)")
        parser.add_argument("--wait", type=float, default=120.0,
                            help="seconds to wait for the uniqueness constraints (init_stores makes them)")

    def handle(self, *args, rounds=3, wait=120.0, **options):
        if rounds < 1:
            return
        # `infrastructure.local down` stops the warm-up with SIGTERM before Neo4j: exit through the warm-up's
        # clean-up (its namespace deleted) rather than at once.
        signal.signal(signal.SIGTERM, _stop)
        try:
            if not warmup.wait_for_constraints(wait):
                raise CommandError(f"graph warm-up skipped: no uniqueness constraints after {wait:.0f}s "
                                   "(run `manage.py init_stores`)")
            report = warmup.warm_up(rounds)
        except GraphAuthError as error:
            raise CommandError(str(error)) from None
        except (StoreUnavailable, DriverError, Neo4jError, OSError) as error:
            reason = error.reason if isinstance(error, StoreUnavailable) else describe_error(error)
            raise CommandError(redact(f"graph warm-up: Neo4j at {settings.NEO4J_URI} failed: {reason}")) from None
        how = "stopped early (another client is using Neo4j)" if report["stopped"] else f"done: {rounds} round(s)"
        self.stdout.write(f"graph warm-up {how}, {report['documents']} documents written in {report['seconds']}s, "
                          f"namespace {report['namespace']} removed ({report['removed']} nodes)")


def _stop(signum, frame):
    raise SystemExit(f"graph warm-up stopped (signal {signum}); its namespace is deleted")

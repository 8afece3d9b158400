"""Install (or with --check, verify) the Neo4j uniqueness constraints the graph relies on.

Installing also migrates a graph from before namespaces (services.install_constraints): it drops the old
single-property constraints and adopts un-namespaced nodes into RAG_NAMESPACE, and says so.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from neo4j.exceptions import DriverError, Neo4jError

from core.redact import redact
from core.retry import StoreUnavailable, describe_error
from graphstore import selectors, services
from graphstore.client import GraphAuthError


class Command(BaseCommand):
    help = "Create the Neo4j uniqueness constraints (idempotent); --check only reports and fails if any is missing."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report only; exit non-zero if any is missing")

    def handle(self, *args, check=False, **options):
        try:
            if check:
                return self._check()
            report = services.install_constraints()
        except GraphAuthError as error:
            raise CommandError(str(error)) from None
        except (StoreUnavailable, DriverError, Neo4jError, OSError) as error:
            raise CommandError(_store_error(error)) from None
        for name in report["dropped"]:
            self.stdout.write(f"dropped  {name} (pre-namespace)")
        if report["adopted"]:
            self.stdout.write(f"adopted  {report['adopted']} un-namespaced node(s) into namespace {settings.RAG_NAMESPACE}; "
                              "run `manage.py reconcile` to rebuild their edges")
        if report["not_adopted"]:
            self.stdout.write(self.style.WARNING(
                f"left     {report['not_adopted']} un-namespaced node(s) whose identity the namespace already holds"))
        for name in report["created"]:
            self.stdout.write(self.style.SUCCESS(f"created  {name}"))
        for name in report["existing"]:
            self.stdout.write(f"existing {name}")

    def _check(self):
        status = selectors.constraint_status()
        for name in status["present"]:
            self.stdout.write(f"present  {name}")
        for name in status["missing"]:
            self.stdout.write(self.style.ERROR(f"missing  {name}"))
        for name in status["legacy"]:
            self.stdout.write(self.style.ERROR(f"legacy   {name} (pre-namespace: blocks a second namespace)"))
        if status["missing"]:
            raise CommandError(
                f"{len(status['missing'])} Neo4j constraint(s) missing; run `manage.py graph_constraints` to create them"
            )
        if status["legacy"]:
            raise CommandError(
                f"{len(status['legacy'])} pre-namespace Neo4j constraint(s) present; run `manage.py graph_constraints`"
            )


def _store_error(error: BaseException) -> str:
    if isinstance(error, StoreUnavailable):
        return redact(f"Neo4j at {settings.NEO4J_URI} is unreachable: {error.reason}")
    return redact(f"Neo4j at {settings.NEO4J_URI} failed: {describe_error(error)}")

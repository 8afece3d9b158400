"""`manage.py init_stores`: migrations, the Milvus collection with its index (loaded), the Neo4j constraints.

Safe to run any number of times: it says what it created and what was already there. `--check`
changes nothing and exits 1 when anything is missing.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from stores import manager
from stores.services import InitError


class Command(BaseCommand):
    help = "Create everything the three stores need (idempotent); --check only reports."

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="report what is missing, change nothing")

    def handle(self, *args, check: bool = False, **options):
        try:
            missing = manager.current().init(check=check, echo=self.stdout.write)
        except InitError as error:
            raise CommandError(str(error)) from None
        if check and missing:
            raise CommandError("missing: " + "; ".join(missing) + " (run `manage.py init_stores`)")
        if check:
            self.stdout.write(self.style.SUCCESS("all stores are initialised"))

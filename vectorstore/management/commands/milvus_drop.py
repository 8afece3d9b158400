"""Drop the Milvus collection after the operator types its name (or passes --yes)."""

import sys

from django.core.management.base import BaseCommand, CommandError

from vectorstore.client import collection_name, safe_uri
from vectorstore.management.base import milvus_errors
from vectorstore.selectors import collection_exists
from vectorstore.services import drop_collection


class Command(BaseCommand):
    help = "Drop the Milvus collection and every vector in it."

    def add_arguments(self, parser):
        parser.add_argument("--yes", action="store_true", help="Drop without asking.")
        parser.add_argument(
            "--noinput", "--no-input", action="store_false", dest="interactive",
            help="Never prompt; without --yes the command then refuses.",
        )

    def handle(self, *args, **options):
        name = collection_name()
        with milvus_errors():
            if not collection_exists():
                self.stdout.write(f"collection {name} does not exist at {safe_uri()}; nothing to drop")
                return
            if not options["yes"]:
                self._confirm(name, options["interactive"])
            dropped = drop_collection()
        if dropped:
            self.stdout.write(self.style.SUCCESS(f"dropped collection {name} at {safe_uri()}"))
        else:
            self.stdout.write(f"collection {name} does not exist at {safe_uri()}; nothing to drop")

    def _confirm(self, name: str, interactive: bool) -> None:
        if not interactive or not sys.stdin.isatty():
            raise CommandError(f"refusing to drop collection {name} without confirmation: pass --yes")
        try:
            answer = input(f"This deletes every vector in {name} at {safe_uri()}. Type its name to confirm: ")
        except EOFError:
            answer = ""
        if answer.strip() != name:
            raise CommandError(f"confirmation did not match {name!r}; nothing dropped")

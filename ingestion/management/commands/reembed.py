"""`manage.py reembed`: rebuild every vector from the chunks in PostgreSQL with the configured embedder.

Run it with the NEW embedder configured (e.g. `EMBEDDER=wordllama manage.py reembed`) while the running
services keep the old one: they keep searching the old collection until the rebuild is complete. Then
MILVUS_COLLECTION is switched, as a Milvus alias, to the new collection `<MILVUS_COLLECTION>__<hash>`
(aliases work on the servers, 2.3.5 and 2.5, and every process sees the switch at once, so no marker table
or name lookup is needed; Milvus Lite 2.5 has none and copies instead, see vectorstore/lite_switch.py), and the services must be restarted with the new EMBEDDER: until
they are, they are refused with a line saying so. Interrupted? Run it again: it resumes. Details in
ingestion/reembed.py and docs/embedders.md.

--adopt records the configured embedder on a collection built before identities were recorded, without
re-embedding (only when you know that embedder built it).
"""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.retry import StoreUnavailable, describe_error
from ingestion.reembed import ReembedError, reembed
from textmodels.embedders import EmbedderError
from vectorstore.client import VectorStoreError
from vectorstore.embedder_identity import describe_identity


class Command(BaseCommand):
    help = "Re-embed every chunk into a new Milvus collection with the configured embedder, then switch to it."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=256, help="chunks embedded and written per batch")
        parser.add_argument("--keep-old", action="store_true",
                            help="keep the previous collection after the switch (when it was behind the alias)")
        parser.add_argument("--adopt", action="store_true",
                            help="only record the configured embedder on a collection that records none")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, batch_size: int, keep_old: bool, adopt: bool, no_progress: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        bar = tqdm(total=0, unit="chunk", desc="reembed", file=sys.stderr, disable=no_progress, dynamic_ncols=True)

        def total_hook(total, already):
            bar.reset(total=total)
            bar.update(already)

        try:
            report = reembed(batch_size=batch_size, keep_old=keep_old, adopt=adopt, progress=bar.update,
                             total_hook=total_hook)
        except (ReembedError, EmbedderError, VectorStoreError, StoreUnavailable) as error:
            raise CommandError(str(error)) from None
        except Exception as error:  # one line, never a traceback or a credential
            raise CommandError(f"reembed failed: {describe_error(error)}") from None
        finally:
            bar.close()
        identity = describe_identity(report.identity)
        if report.outcome == "up to date":
            self.stdout.write(f"{report.collection} is already built by {identity}: nothing to do")
        elif report.outcome == "adopted":
            self.stdout.write(f"{report.collection} now records {identity} (nothing re-embedded)")
        else:
            self.stdout.write(
                f"{report.collection} -> {report.target}: built by {identity}; embedded {report.embedded} chunks"
                f" (resumed with {report.resumed} already there, removed {report.removed} stale)")
            if report.previous and report.previous != report.target:
                fate = "dropped" if report.previous_dropped else "kept"
                self.stdout.write(f"previous collection {report.previous}: {fate}")
            self.stdout.write("restart the services with the same EMBEDDER settings as this command")
        for note in report.notes:
            self.stdout.write(note)

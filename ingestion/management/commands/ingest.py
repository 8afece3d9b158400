"""`manage.py ingest PATH...`: text, Markdown, HTML and PDF files or directories into PostgreSQL, Milvus and Neo4j.

Skipped files (empty, binary, not UTF-8, unparseable, no text layer, too large, unsupported extension)
are reported, not failures; the exit code is 1 when any file failed, so a rerun (or `manage.py
reconcile`) is needed. The progress bar on stderr counts files, and shows the chunks done, chunks/s and
the stage of the current file; `--json` adds the seconds spent in each stage over the run.

After writing chunks the Milvus collection is flushed (about a second): Milvus then builds the vector index of the
new rows right away, instead of searching them through a temporary index until it seals them on its own.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.redact import redact
from core.retry import StoreUnavailable, describe_error
from ingestion.chunking import check_parameters
from ingestion.services import check_prefix, ingest_paths
from ingestion.store_sync import StoreFailure
from vectorstore import services as vector_services
from vectorstore.client import VectorStoreError


class Command(BaseCommand):
    help = "Ingest text/Markdown/HTML/PDF files or directories (idempotent: unchanged files write nothing)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories")
        parser.add_argument("--id-prefix", default="", help="prepend 'PREFIX-' to every document id")
        parser.add_argument("--chunk-size", type=int, default=None, help="characters per chunk (CHUNK_SIZE)")
        parser.add_argument("--chunk-overlap", type=int, default=None, help="overlap in characters (CHUNK_OVERLAP)")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
        parser.add_argument("--json", action="store_true", help="print the report as JSON")

    def handle(self, *args, paths, id_prefix, chunk_size, chunk_overlap, no_progress, json: bool, **options):
        missing = [path for path in paths if not Path(path).exists()]
        if missing:
            raise CommandError(f"no such file or directory: {', '.join(missing)}")
        size = settings.CHUNK_SIZE if chunk_size is None else chunk_size
        overlap = settings.CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap
        if chunk_overlap is None and chunk_size is not None:
            overlap = min(overlap, size // 2)  # a smaller --chunk-size keeps a proportionate default overlap
        try:
            check_parameters(size, overlap)
            check_prefix(id_prefix)
        except ValueError as error:
            raise CommandError(str(error)) from None

        bar = None
        started = time.perf_counter()
        drawn = 0.0

        def progress(event) -> None:  # called at every stage of every file: redraws at most 10 times a second
            nonlocal bar, drawn
            if bar is None:
                bar = tqdm(total=event.files_total, unit="file", file=sys.stderr, disable=no_progress,
                           leave=False, dynamic_ncols=True)
            now = time.perf_counter()
            if event.files_done > bar.n:
                bar.update(event.files_done - bar.n)
            bar.set_postfix_str(f"{event.chunks_done} chunks, {event.chunks_done / max(now - started, 1e-9):.1f} "
                                f"chunks/s, {event.stage}", refresh=False)
            if now - drawn >= 0.1:
                bar.refresh()
                drawn = now

        try:
            report = ingest_paths(paths, id_prefix=id_prefix, on_progress=progress, chunk_size=size,
                                  chunk_overlap=overlap)
        except StoreFailure as error:
            raise CommandError(str(error)) from None
        finally:
            if bar is not None:
                bar.close()
        if report.created or report.updated:  # nothing new to seal after an unchanged re-run (it cost ~0.7 s)
            self._flush()
        self._print(report, as_json=json, seconds=time.perf_counter() - started)
        if report.failed:
            raise CommandError(f"{len(report.failed)} file(s) failed; fix the cause and ingest again "
                               "(or run `manage.py reconcile`)")

    def _flush(self) -> None:
        try:
            vector_services.flush()
        except (StoreUnavailable, VectorStoreError) as error:  # the chunks are written; only the index waits
            self.stderr.write(redact(f"warning: Milvus flush failed ({describe_error(error)}); new chunks are "
                                     "searched through a temporary index until Milvus seals them"))

    def _print(self, report, as_json: bool, seconds: float) -> None:
        if as_json:
            self.stdout.write(json.dumps({**report.as_dict(), "seconds": round(seconds, 3)}, indent=2))
            return
        counts = report.counts()
        self.stdout.write(", ".join(f"{name} {count}" for name, count in counts.items()))
        busiest = sorted(report.stage_seconds.items(), key=lambda item: -item[1])[:3]
        self.stdout.write(f"{report.chunks} chunks in {seconds:.1f} s ("
                          + ", ".join(f"{stage} {spent:.1f} s" for stage, spent in busiest) + ")")
        for row in report.skipped:
            self.stdout.write(f"skipped {row['path']}: {row['reason']}")
        for row in report.failed:
            self.stdout.write(self.style.ERROR(redact(f"failed {row['path']}: {row['reason']}")))

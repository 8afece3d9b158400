"""`manage.py ingest PATH... [--enqueue]`: ingestion's command (ingestion/management/commands/ingest.py), plus
`--enqueue`: queue one job per file (its bytes kept in PostgreSQL) for the workers instead of ingesting here.

This app comes before `ingestion` in INSTALLED_APPS, so this command is the one `manage.py ingest` runs.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import DatabaseError

from core.redact import redact
from core.retry import describe_error
from ingestion.management.commands import ingest


class Command(ingest.Command):
    help = ingest.Command.help + " With --enqueue: queue one job per file for the workers (docs/jobs.md)."

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument("--enqueue", action="store_true",
                            help="queue the files as jobs (run by `manage.py procrastinate worker`) and print "
                                 "their job ids, instead of ingesting here")

    def handle(self, *args, enqueue: bool = False, **options):
        if not enqueue:
            return super().handle(*args, **options)
        from ingestion.chunking import check_parameters
        from ingestion.services import check_prefix
        from jobs.services import submit_paths

        paths = options["paths"]
        missing = [path for path in paths if not Path(path).exists()]
        if missing:
            raise CommandError(f"no such file or directory: {', '.join(missing)}")
        size, overlap = options["chunk_size"], options["chunk_overlap"]
        if size is not None or overlap is not None:  # as the synchronous command chooses them
            size = settings.CHUNK_SIZE if size is None else size
            overlap = min(settings.CHUNK_OVERLAP, size // 2) if overlap is None else overlap
        try:
            check_prefix(options["id_prefix"])
            if size is not None:
                check_parameters(size, overlap)
            queued = submit_paths(paths, id_prefix=options["id_prefix"], chunk_size=size, chunk_overlap=overlap)
        except ValueError as error:
            raise CommandError(str(error)) from None
        except DatabaseError as error:
            raise CommandError(redact(f"PostgreSQL: {describe_error(error)}")) from None
        for path, submission in queued.submissions:
            self.stdout.write(f"job {submission.job_id}  {submission.document_id}  {path}")
        for row in queued.skipped:
            self.stdout.write(f"skipped {row['path']}: {row['reason']}")
        self.stdout.write(f"queued {len(queued.submissions)}, skipped {len(queued.skipped)} "
                          "(follow them: manage.py jobs ID..., or the admin's Procrastinate jobs)")

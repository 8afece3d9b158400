"""`manage.py jobs [ID...]`: the state of jobs (the given ones, else the 20 most recent)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Show jobs of the queue: status, attempts, document, times, error (the 20 most recent without ids)."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, metavar="ID", help="job ids")
        parser.add_argument("--limit", type=int, default=20, help="how many recent jobs without ids (20)")

    def handle(self, *args, ids, limit, **options):
        from jobs.selectors import get_job, recent_jobs

        views = [get_job(job_id) for job_id in ids] if ids else recent_jobs(limit)
        unknown = [str(job_id) for job_id, view in zip(ids, views) if view is None]
        for view in views:
            if view is None:
                continue
            when = view.finished_at or view.started_at or view.queued_at
            stamp = f"{when:%Y-%m-%d %H:%M:%S}" if when else "-"
            line = (f"{view.id:>7}  {view.task:<10} {view.status:<9} attempts {view.attempts}  "
                    f"{view.document_id or '-'}  {stamp}")
            self.stdout.write(line + (f"  error: {view.error}" if view.error else ""))
        if unknown:
            raise CommandError(f"no job with id {', '.join(unknown)}")

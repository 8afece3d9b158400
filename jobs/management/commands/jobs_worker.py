"""`manage.py jobs_worker`: one queue worker (`manage.py procrastinate worker`), unless the settings make that
impossible: Milvus Lite is a file that one process holds (the web server's), so then it says so and exits 0."""

from __future__ import annotations

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.uris import is_milvus_lite


class Command(BaseCommand):
    help = "Run one job worker (manage.py procrastinate worker); refuses with one line when MILVUS_URI is Milvus Lite."

    def handle(self, *args, **options):
        if is_milvus_lite(settings.MILVUS_URI):
            self.stdout.write("jobs: no worker started: MILVUS_URI is a Milvus Lite file, which only one process "
                              "(the web server) can hold; queued jobs wait for a worker on a Milvus server "
                              "(docs/jobs.md)")
            return
        call_command("procrastinate", "worker")

"""`manage.py jobs_worker`: one queue worker (`manage.py procrastinate worker`), unless the settings make that
impossible: Milvus Lite is a file that one process holds (the web server's), so then it says so and exits 0.

`--own-process-group` (what `make run` uses): the terminal's Ctrl-C then reaches only the web server, and
`make run` stops the worker with one SIGTERM, which lets its running job finish (a second signal would not).
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from core.uris import is_milvus_lite

LITE_REFUSAL = ("jobs: no worker started: MILVUS_URI is a Milvus Lite file, which only one process (the web "
                "server) can hold; queued jobs wait for a worker on a Milvus server (docs/jobs.md)")


class Command(BaseCommand):
    help = "Run one job worker (manage.py procrastinate worker); refuses with one line when MILVUS_URI is Milvus Lite."

    def add_arguments(self, parser):
        parser.add_argument("--own-process-group", action="store_true",
                            help="leave the terminal's process group (Ctrl-C goes to the server only)")

    def handle(self, *args, own_process_group: bool = False, **options):
        if is_milvus_lite(settings.MILVUS_URI):
            self.stdout.write(LITE_REFUSAL)
            return
        if own_process_group:
            os.setpgrp()
        call_command("procrastinate", "worker")

"""`manage.py health_check`: the readiness checks of /health/, run in this process; exit 1 if a store fails
(a warning, such as drift above its threshold, is printed and keeps exit code 0)."""

from __future__ import annotations

import json
import logging
import sys

from django.core.management.base import BaseCommand

from stores.health import ReadinessView, check_results, warning_only


class Command(BaseCommand):
    help = "Check PostgreSQL, Milvus and Neo4j as /health/ does; exits 1 when any store fails."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the same JSON as /health/")

    def handle(self, *args, **options):
        # The table below says which store fails and why; the checks' own warning would say it a second time.
        logging.getLogger("core.health").setLevel(logging.ERROR)
        view = ReadinessView()
        results = check_results(view)
        failing = [result for result in results if result.error and not warning_only(result)]
        if options["json"]:
            view.results = results
            self.stdout.write(json.dumps(json.loads(view.render_to_response_json(200).content), indent=2))
        else:
            for result in results:
                label = "WARN" if warning_only(result) else "FAIL"
                state = "OK" if not result.error else f"{label} {result.error.message}"
                self.stdout.write(f"{result.check!r:<9} {result.time_taken * 1000:7.1f} ms  {state}")
        sys.stdout.flush()
        if failing:
            sys.exit(1)

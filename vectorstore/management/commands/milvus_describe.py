"""Show the Milvus collection: schema, index, row count, load state and any drift from the expected schema."""

import json

from django.core.management.base import BaseCommand

from vectorstore.management.base import milvus_errors
from vectorstore.selectors import collection_status


class Command(BaseCommand):
    help = "Describe the Milvus collection (schema, index, row count, load state)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the status as JSON.")

    def handle(self, *args, **options):
        with milvus_errors():
            status = collection_status()
        if options["json"]:
            self.stdout.write(json.dumps(status, indent=2, sort_keys=True, default=str))
            return
        self.stdout.write(f"collection {status['collection']} at {status['uri']} ({status['engine']})")
        if not status["exists"]:
            self.stdout.write("  does not exist (create it with `manage.py milvus_create`)")
            return
        self.stdout.write("  fields:")
        for field in status["fields"]:
            params = ", ".join(f"{key}={value}" for key, value in field["params"].items())
            primary = "  primary key" if field["is_primary"] else ""
            self.stdout.write(f"    {field['name']}: {field['type']}{f'({params})' if params else ''}{primary}")
        index = status["index"]
        if index:
            shown = ("index_type", "metric_type", "field_name", "index_name")
            extra = {key: value for key, value in index.items() if key not in shown}
            details = ", ".join(f"{key}={value}" for key, value in extra.items())
            self.stdout.write(f"  index: {index.get('index_type')} {index.get('metric_type')} ({details})")
        else:
            self.stdout.write("  index: none")
        self.stdout.write(f"  load state: {status['load_state']}")
        rows = status["row_count"]
        self.stdout.write(f"  rows: {rows if rows is not None else 'unknown (collection not loaded)'}")
        if status["schema_differences"]:
            self.stdout.write(self.style.WARNING("  schema differences:"))
            for difference in status["schema_differences"]:
                self.stdout.write(self.style.WARNING(f"    - {difference}"))
        else:
            self.stdout.write("  schema: as expected")

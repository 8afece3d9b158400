"""Create the Milvus collection with its index and load it; safe to run again."""

from django.core.management.base import BaseCommand

from vectorstore.client import collection_name, safe_uri
from vectorstore.management.base import milvus_errors
from vectorstore.services import ensure_collection


class Command(BaseCommand):
    help = "Create the Milvus collection (schema, vector index) and load it. Idempotent."

    def handle(self, *args, **options):
        with milvus_errors():
            result = ensure_collection()
        name = collection_name()
        if result == "created":
            self.stdout.write(self.style.SUCCESS(f"created collection {name} at {safe_uri()}"))
        else:
            self.stdout.write(f"collection {name} already exists at {safe_uri()}")

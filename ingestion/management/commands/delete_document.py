"""`manage.py delete_document ID`: remove a document from Milvus, Neo4j and PostgreSQL."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from core.retry import describe_error
from ingestion.deletion import DocumentNotFound, delete_document
from ingestion.store_sync import StoreFailure


class Command(BaseCommand):
    help = "Delete a document (its chunks, vectors, graph node and ledger row) from all three stores."

    def add_arguments(self, parser):
        parser.add_argument("document_id", metavar="ID")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, document_id: str, yes: bool, **options):
        if not yes:
            if not sys.stdin.isatty():
                raise CommandError("refusing to delete without confirmation; pass --yes")
            answer = input(f"Delete document {document_id} from Milvus, Neo4j and PostgreSQL? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("not deleted")
        try:
            result = delete_document(document_id)
        except DocumentNotFound as error:
            raise CommandError(str(error)) from None
        except StoreFailure as error:
            raise CommandError(str(error)) from None
        except Exception as error:  # a store failed mid-way: the ledger says `deleting`, reconcile finishes it
            raise CommandError(f"deletion of {document_id} interrupted ({describe_error(error)}); "
                               "run `manage.py reconcile` once the store is back") from None
        self.stdout.write(self.style.SUCCESS(
            f"deleted {result['document_id']}: {result['postgres_chunks_deleted']} chunk(s) from PostgreSQL, "
            f"{result['milvus_chunks_deleted']} from Milvus, graph node "
            f"{'removed' if result['neo4j_deleted'] else 'absent'} ({result['concepts_removed']} orphan concept(s))"))

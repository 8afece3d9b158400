"""Documents into the three stores: discover, chunk, embed, extract, write; reconcile and delete."""

from django.apps import AppConfig


class IngestionConfig(AppConfig):
    name = "ingestion"
    verbose_name = "Ingestion"

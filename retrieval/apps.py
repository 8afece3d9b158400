"""Hybrid search over the three stores, fused by weighted RRF; the JSON API and the search command."""

from django.apps import AppConfig


class RetrievalConfig(AppConfig):
    name = "retrieval"
    verbose_name = "Retrieval"

"""The JSON API (django-ninja): search, feedback, documents and jobs over HTTP, on top of the services of
rag_data, apikeys, retrieval and jobs. No models of its own: what it stores, those apps store."""

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "JSON API"

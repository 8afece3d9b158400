"""The three stores together: one owner of their clients, init_stores, and the health endpoints."""

from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores"

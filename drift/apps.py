"""Online consistency: a cheap, read-only comparison of the three stores, recorded as drift reports."""

from django.apps import AppConfig


class DriftConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "drift"
    verbose_name = "Drift between the stores"

"""Per-client API keys: who may call the JSON API, with which scopes, at what rate. Its own app (and tables) so
that the keys' life cycle (create, rotate, revoke, expire) does not touch the retrieval data."""

from django.apps import AppConfig


class ApiKeysConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "apikeys"
    verbose_name = "API keys"

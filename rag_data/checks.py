"""System checks: the models rely on PostgreSQL (full-text GIN index, regex CHECK constraints)."""

from django.conf import settings
from django.core import checks


def check_postgresql(app_configs=None, **kwargs):
    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    return postgresql_problems(engine, settings.INSTALLED_APPS)


def postgresql_problems(engine: str, installed_apps) -> list[checks.Error]:
    errors = []
    if not engine.endswith("postgresql"):
        errors.append(checks.Error(
            f"rag_data needs PostgreSQL, the default database uses {engine or 'no engine'}.",
            hint="Set DATABASE_URL to a postgres:// URL.",
            id="rag_data.E001",
        ))
    if "django.contrib.postgres" not in installed_apps:
        errors.append(checks.Error(
            "rag_data's full-text index needs django.contrib.postgres in INSTALLED_APPS.",
            id="rag_data.E002",
        ))
    return errors

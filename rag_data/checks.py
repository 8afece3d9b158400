"""System checks: the models rely on PostgreSQL (full-text GIN index, regex CHECK constraints); the review
admin's static files are collected (deploy)."""

from pathlib import Path

from django.conf import settings
from django.core import checks


def check_postgresql(app_configs=None, **kwargs):
    """The check RagDataConfig.ready registers: the configured database and apps, as postgresql_problems sees them."""
    engine = settings.DATABASES.get("default", {}).get("ENGINE", "")
    return postgresql_problems(engine, settings.INSTALLED_APPS)


def postgresql_problems(engine: str, installed_apps) -> list[checks.Error]:
    """The errors for a database engine and app list (a pure function, so a test can pass any pair)."""
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


def check_static_files(app_configs=None, **kwargs):
    """With DEBUG off the admin's pages name hashed static files from collectstatic's manifest: without it, every
    admin page fails (500). `check --deploy` says so before a deployment does."""
    backend = getattr(settings, "STORAGES", {}).get("staticfiles", {}).get("BACKEND", "")
    if settings.DEBUG or "Manifest" not in backend:
        return []
    manifest = Path(settings.STATIC_ROOT) / "staticfiles.json"
    if manifest.is_file():
        return []
    return [checks.Warning(
        f"The static files are not collected: {manifest} is missing, so the admin's pages fail with DEBUG off.",
        hint="Run `manage.py collectstatic --noinput` with the same DJANGO_STATIC_ROOT (the image does it at build).",
        id="rag_data.W001",
    )]

"""The PostgreSQL requirement is reported by `manage.py check`, not discovered at migrate time."""

from rag_data.checks import check_postgresql, postgresql_problems


def test_configured_project_passes():
    assert check_postgresql() == []


def test_sqlite_and_missing_contrib_postgres_are_reported():
    errors = postgresql_problems("django.db.backends.sqlite3", ["django.contrib.admin", "rag_data"])
    assert [error.id for error in errors] == ["rag_data.E001", "rag_data.E002"]
    assert "sqlite3" in errors[0].msg

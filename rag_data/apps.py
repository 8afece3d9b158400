"""The relational half of the data layer: sessions, queries, feedback, evaluation cases and the document ledger.

ready() registers its system checks (PostgreSQL; collected static files, deploy) as Django contrib apps do, rather
than by an import side effect."""

from django.apps import AppConfig
from django.core import checks


class RagDataConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "rag_data"
    verbose_name = "RAG data"

    def ready(self):
        from rag_data.checks import check_postgresql, check_static_files

        checks.register(check_postgresql, checks.Tags.database, checks.Tags.compatibility)
        checks.register(check_static_files, checks.Tags.staticfiles, deploy=True)

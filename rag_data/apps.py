from django.apps import AppConfig


class RagDataConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "rag_data"
    verbose_name = "RAG data"

    def ready(self):
        from rag_data import checks  # noqa: F401  (registers the system checks)

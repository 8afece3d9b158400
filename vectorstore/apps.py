from django.apps import AppConfig


class VectorstoreConfig(AppConfig):
    name = "vectorstore"
    verbose_name = "Vector store (Milvus)"

    def ready(self):
        from vectorstore import checks  # noqa: F401  (registers the system checks)

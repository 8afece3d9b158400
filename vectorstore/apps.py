from django.apps import AppConfig
from django.core import checks


class VectorstoreConfig(AppConfig):
    name = "vectorstore"
    verbose_name = "Vector store (Milvus)"

    def ready(self):
        from vectorstore.checks import check_milvus_settings

        checks.register(check_milvus_settings, "vectorstore")

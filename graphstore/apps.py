from django.apps import AppConfig


class GraphstoreConfig(AppConfig):
    name = "graphstore"
    verbose_name = "Knowledge graph (Neo4j)"

    def ready(self) -> None:
        # Points neomodel at our driver without connecting: the driver is built on first use.
        from graphstore.client import configure_neomodel

        configure_neomodel()

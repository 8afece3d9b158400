"""The one owner of the three stores' clients in a process (the specification's DatabaseManager).

It creates the Milvus client and the Neo4j driver lazily from the settings, binds them so that every
vectorstore/graphstore call uses them, and closes them (and this thread's PostgreSQL connections) once:
at process exit, at a gunicorn worker's exit, or when a test's own manager goes out of scope. Tests that
need other settings build a manager of their own instead of resetting module globals:

    with DatabaseManager.from_settings() as stores:   # after changing settings
        stores.health()
"""

from __future__ import annotations

from graphstore import client as graph_client
from graphstore.client import GraphConnection
from stores.health import run_checks
from stores.lifecycle import close_database_connections, process_manager
from stores.services import initialise
from vectorstore import client as milvus_client
from vectorstore.client import MilvusConnection


class DatabaseManager:
    """Milvus connection + Neo4j connection + PostgreSQL (Django's connections): init, health, close."""

    def __init__(self, milvus: MilvusConnection, graph: GraphConnection):
        self.milvus, self.graph = milvus, graph
        self._previous: tuple | None = None

    @classmethod
    def from_settings(cls) -> DatabaseManager:
        return cls(MilvusConnection.from_settings(), GraphConnection.from_settings())

    def __repr__(self) -> str:
        return f"<DatabaseManager {self.milvus!r} {self.graph!r}>"

    def activate(self) -> DatabaseManager:
        """Bind this manager's connections for every store call in the process."""
        self._previous = (milvus_client.bind(self.milvus), graph_client.bind(self.graph))
        return self

    def init(self, *, check: bool = False, echo=print) -> list[str]:
        """Create what the stores need (migrations, collection + index, constraints); with check, only
        report. Returns what is missing (always empty without check)."""
        return initialise(check=check, echo=echo)

    def health(self) -> dict[str, str | None]:
        """{store: None when healthy, else a one-line reason}, each probe bounded by its timeout."""
        return run_checks()

    def close(self) -> None:
        """Close both clients and this thread's PostgreSQL connections; the next call opens new ones."""
        self.milvus.close()
        self.graph.close()
        close_database_connections()

    def __enter__(self) -> DatabaseManager:
        return self.activate()

    def __exit__(self, *exc_info) -> None:
        self.close()
        if self._previous is not None:
            milvus_client.bind(self._previous[0])
            graph_client.bind(self._previous[1])


def current() -> DatabaseManager:
    """The process's manager, created (and bound) on first use; closed by stores.lifecycle.close_opened_clients
    (at exit, StoresConfig.ready; at a gunicorn worker's exit), after which the next call makes a new one."""
    return process_manager(lambda: DatabaseManager(milvus_client.connection(), graph_client.connection()).activate())

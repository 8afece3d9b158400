"""The one way into Neo4j: the bound connection's driver, built from the settings and shared with neomodel.

Retries are not stacked: only opening the driver (the first `verify_connectivity`) goes through
`core.retry.call_with_retry`; queries run as managed transactions (`execute_query`,
`session.execute_write`/`execute_read`), which the driver itself retries on transient errors for up to
`max_transaction_retry_time`. Because the driver may replay a transaction, every write must be idempotent.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from typing import Any, Callable

from django.conf import settings
from neo4j import Driver, EagerResult, GraphDatabase, RoutingControl
from neo4j.exceptions import AuthError, ClientError
from neomodel import NeomodelConfig, db, set_config

from core.deadline import call_with_deadline
from core.redact import redact
from core.binding import ConnectionSlot
from core.retry import StoreUnavailable, call_with_retry
from graphstore.schema import checked_namespace

logger = logging.getLogger(__name__)

STORE = "Neo4j"



class GraphAuthError(StoreUnavailable):
    """Neo4j refused the configured credentials: permanent, so never retried. Names the user, never the password."""

    def __init__(self, user: str):
        super().__init__(STORE, "credentials rejected")
        message = redact(
            f"Neo4j rejected the credentials for user {user!r}; check NEO4J_USER/NEO4J_PASSWORD"
        )
        self.args = (message,)

    def __str__(self) -> str:
        return self.args[0]


def _is_auth_failure(error: BaseException) -> bool:
    if isinstance(error, AuthError):
        return True
    # e.g. Neo.ClientError.Security.AuthenticationRateLimit after repeated wrong passwords.
    code = getattr(error, "code", None) or ""
    return isinstance(error, ClientError) and code.startswith("Neo.ClientError.Security.")


class GraphConnection:
    """One Neo4j driver for one server and user, opened (and verified) on first use, closed by its owner.

    The owner is the process's stores.manager.DatabaseManager (closed at exit); tests build their own
    for other settings. The password enters the identity only as a digest; the repr never shows it.
    """

    def __init__(self, uri: str, user: str, password: str, *, timeout: float = 10.0, retry_seconds: float = 30.0):
        self.uri, self.user, self.timeout, self.retry_seconds = uri, user, timeout, retry_seconds
        self._password = password
        self.key = (uri, user, hashlib.sha256(password.encode()).hexdigest(), timeout, retry_seconds)
        self._driver: Driver | None = None
        self._lock = threading.RLock()

    @classmethod
    def from_settings(cls) -> GraphConnection:
        return cls(settings.NEO4J_URI, settings.NEO4J_USER, settings.NEO4J_PASSWORD,
                   timeout=settings.NEO4J_TIMEOUT, retry_seconds=settings.STORE_RETRY_MAX_SECONDS)

    def __repr__(self) -> str:
        return f"<GraphConnection {redact(self.uri)} user={self.user!r} {'open' if self._driver else 'closed'}>"

    def driver(self) -> Driver:
        with self._lock:
            if self._driver is None:
                self._driver = self._open()
                db.set_connection(driver=self._driver)  # neomodel uses our driver; it never closes it
            return self._driver

    def close(self) -> None:
        with self._lock:
            driver, self._driver = self._driver, None
        if driver is None:
            return
        if db.driver is driver:
            db.driver = None  # unhook neomodel; its next query asks our config (below) for the bound driver
        try:
            driver.close()
        except Exception as error:  # closing a broken pool must not mask what the caller is doing
            logger.warning("closing the Neo4j driver failed: %s", type(error).__name__)

    def _open(self) -> Driver:
        driver = GraphDatabase.driver(
            self.uri,
            auth=(self.user, self._password),
            connection_timeout=self.timeout,
            # Waiting for a pooled connection includes opening one, so bound both by the same timeout.
            connection_acquisition_timeout=self.timeout,
            # The driver's own retry budget for managed transactions: the shared store retry budget.
            max_transaction_retry_time=self.retry_seconds,
        )
        try:
            call_with_retry(STORE, driver.verify_connectivity)
        except BaseException as error:
            driver.close()
            if _is_auth_failure(error):
                raise GraphAuthError(self.user) from None
            raise
        return driver


_slot: ConnectionSlot[GraphConnection] = ConnectionSlot(GraphConnection.from_settings)
bind = _slot.bind
connection = _slot.current


def get_driver() -> Driver:
    """The open driver of the bound connection."""
    return connection().driver()


class _SharedDriverConfig(NeomodelConfig):
    """neomodel configuration whose driver is ours, looked up only when neomodel first needs it."""

    @property
    def driver(self) -> Driver:  # type: ignore[override]
        return get_driver()

    @driver.setter
    def driver(self, value: Driver | None) -> None:
        if value is not None:
            raise ValueError("graphstore owns the Neo4j driver; change the NEO4J_* settings instead")

    @property
    def database_name(self) -> str:  # type: ignore[override]
        return settings.NEO4J_DATABASE

    @database_name.setter
    def database_name(self, value: str | None) -> None:
        pass  # always the NEO4J_DATABASE setting


def configure_neomodel() -> None:
    """Called from AppConfig.ready(): configures neomodel without opening any connection."""
    set_config(
        _SharedDriverConfig(
            database_url=None,
            connection_timeout=settings.NEO4J_TIMEOUT,
            connection_acquisition_timeout=settings.NEO4J_TIMEOUT,
            max_transaction_retry_time=max(settings.STORE_RETRY_MAX_SECONDS, 0.001),
        )
    )


def namespace() -> str:
    """The deployment's namespace (settings.RAG_NAMESPACE): every node this app writes or reads carries it.

    Read at each call, so a changed setting (tests, a second deployment in one process) takes effect at once.
    """
    return checked_namespace(settings.RAG_NAMESPACE)


def call_timeout() -> float:
    """The longest a caller waits for one Neo4j call: the connection timeout plus the driver's retry budget,
    capped below SEARCH_TIMEOUT (0.9 x) so that a search's graph stage fails naming Neo4j before the search
    itself gives up.

    Bounded from outside because the driver has no read timeout: on a paused server a query on an
    established connection would otherwise wait forever (measured: until the server resumed).
    """
    return min(settings.NEO4J_TIMEOUT + settings.STORE_RETRY_MAX_SECONDS, 0.9 * settings.SEARCH_TIMEOUT)


def _bounded(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    return call_with_deadline(STORE, call_timeout(), func, *args, **kwargs)


def _execute(query: str, params: dict[str, Any], routing: RoutingControl) -> EagerResult:
    return _bounded(lambda: get_driver().execute_query(
        query, parameters_=params, routing_=routing, database_=settings.NEO4J_DATABASE
    ))


def read(query: str, **params: Any) -> EagerResult:
    """One managed read transaction (retried by the driver); returns (records, summary, keys)."""
    return _execute(query, params, RoutingControl.READ)


def write(query: str, **params: Any) -> EagerResult:
    """One managed write transaction (retried, possibly replayed, by the driver): keep it idempotent."""
    return _execute(query, params, RoutingControl.WRITE)


def execute_write(work: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run `work(tx, ...)` as one managed write transaction, for writes that need several statements."""

    def run():
        with get_driver().session(database=settings.NEO4J_DATABASE) as session:
            return session.execute_write(work, *args, **kwargs)

    return _bounded(run)

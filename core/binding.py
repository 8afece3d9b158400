"""The process-wide slot that holds a store's current connection (one per store client module).

The owner (stores.manager.DatabaseManager) binds connections into it; a store call asks it for the
current one. When the settings now name another server or credentials (tests change them), the slot
binds a connection for the new settings and closes the old one, so nobody has to reset globals.
"""

from __future__ import annotations

import threading
from typing import Callable, Generic, Protocol, TypeVar


class Connection(Protocol):
    key: tuple  # what identifies the server and credentials (secrets only as digests)

    def close(self) -> None: ...


C = TypeVar("C", bound=Connection)


class ConnectionSlot(Generic[C]):
    def __init__(self, from_settings: Callable[[], C]):
        self._from_settings = from_settings
        self._bound: C | None = None
        self._lock = threading.Lock()

    @property
    def bound(self) -> C | None:
        return self._bound

    def bind(self, connection: C | None) -> C | None:
        """Make `connection` the current one; returns the one bound before (not closed)."""
        with self._lock:
            previous, self._bound = self._bound, connection
        return previous

    def current(self) -> C:
        """The bound connection, or, when none is bound or the settings changed, a new one for the settings
        (bound in its place; the old one closed)."""
        fresh = self._from_settings()
        with self._lock:
            current = self._bound
            if current is not None and current.key == fresh.key:
                return current
            self._bound = fresh
        if current is not None:
            current.close()
        return fresh

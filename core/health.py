"""The base of every store's health check (django-health-check 4.x): a probe bounded by its timeout.

A paused store must not hang the endpoint or pile up threads: each store's probe runs in a small
shared pool and is waited on for at most the check's timeout; while an earlier probe of the same
store is still stuck, the check fails at once instead of starting another one.
"""

from __future__ import annotations

import abc
import concurrent.futures
import dataclasses
import datetime
import logging
import threading
import time

from django.conf import settings
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable

from core.retry import StoreUnavailable, describe_error, single_attempt

_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=6, thread_name_prefix="store-probe")
_IN_FLIGHT: dict[str, tuple[concurrent.futures.Future, float]] = {}
_LOCK = threading.Lock()
logger = logging.getLogger(__name__)


@dataclasses.dataclass
class StoreCheck(HealthCheck):
    """One store's probe, bounded by `timeout`; a subclass sets `store` and implements `probe()`."""

    store = "store"

    @property
    def timeout(self) -> datetime.timedelta:
        """settings.HEALTH_CHECK_TIMEOUT, read when the check runs. A property, as the base's class attribute is:
        a dataclass field would become every subclass's first parameter (PostgresCheck("default") a timeout)."""
        return datetime.timedelta(seconds=settings.HEALTH_CHECK_TIMEOUT)

    @abc.abstractmethod
    def probe(self) -> None:
        """Ask the store one cheap question, in a pool thread with one attempt (no retries).

        Raises:
            ServiceUnavailable: the store answers but is not usable (its message is shown as it is).
            Exception: any driver error; it is reported as one line without credentials (describe_error).
        """

    def __repr__(self) -> str:
        return self.store

    def run(self) -> None:
        try:
            self._bounded_probe()
        except ServiceUnavailable as error:
            logger.warning("health: %s failing: %s", self.store, error.message)
            raise

    def _bounded_probe(self) -> None:
        seconds = self.timeout.total_seconds()
        with _LOCK:
            previous = _IN_FLIGHT.get(self.store)
            if previous and not previous[0].done():
                waited = time.monotonic() - previous[1]
                raise ServiceUnavailable(f"not answering (previous probe still waiting after {waited:.0f}s)")
            future = _POOL.submit(self._probe_safely)
            _IN_FLIGHT[self.store] = (future, time.monotonic())
        try:
            error = future.result(timeout=seconds)
        except concurrent.futures.TimeoutError:
            raise ServiceUnavailable(f"did not answer within {seconds:g}s") from None
        if error:
            raise ServiceUnavailable(error)

    def _probe_safely(self) -> str | None:
        """Runs in the pool: returns a one-line, credential-free error, or None when healthy."""
        try:
            with single_attempt():
                self.probe()
        except ServiceUnavailable as error:
            return str(error.message)
        except StoreUnavailable as error:  # already one line naming the store and what to do
            return str(error)
        except Exception as error:  # any driver error is a failed check, described without secrets
            return describe_error(error)
        return None

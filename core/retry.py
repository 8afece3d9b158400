"""The one retry policy every store client uses: exponential backoff with jitter, bounded, transient only.

Where a driver already retries, this policy is not stacked on top: Neo4j managed transactions and
pymilvus RPCs (bounded by their `timeout`) retry on their own, so the store clients wrap only what has
no retry of its own -- opening connections and one-shot probes.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import urllib.error
from dataclasses import dataclass

import tenacity
from django.conf import settings

from core.redact import redact

logger = logging.getLogger(__name__)

_GRPC_TRANSIENT = {"UNAVAILABLE", "DEADLINE_EXCEEDED"}
# psycopg SQLSTATEs that no amount of waiting fixes: bad credentials, unknown database or role.
_PG_PERMANENT_SQLSTATES = {"28000", "28P01", "3D000", "42501"}
_PG_PERMANENT_TEXT = ("password authentication failed", "does not exist", "no password supplied")


class StoreUnavailable(Exception):
    """A store could not be reached within the retry budget; the message names the store, no secrets."""

    def __init__(self, store: str, reason: str):
        self.store = store
        self.reason = reason
        super().__init__(self.describe(store, reason))

    @staticmethod
    def describe(store: str, reason: str) -> str:
        return f"{store} is unreachable: {reason}"


class StoreNotUsable(StoreUnavailable):
    """The store answers but cannot serve this process as configured (a collection built by another embedder, a
    missing collection, an embedder that cannot load): handled as unavailable (HTTP 503, a failed command), but the
    line says what is wrong instead of claiming an outage."""

    @staticmethod
    def describe(store: str, reason: str) -> str:
        return f"{store}: {reason}"


def _chain(error: BaseException):
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _grpc_code_name(error: BaseException) -> str | None:
    code = getattr(error, "code", None)
    if callable(code):
        try:
            value = code()
        except Exception:
            return None
        return getattr(value, "name", None)
    return None


def is_transient(error: BaseException) -> bool:
    """True for failures that waiting may cure: refused/reset connections, timeouts, unavailable servers."""
    for link in _chain(error):
        module = type(link).__module__ or ""
        name = type(link).__name__
        if isinstance(link, (ConnectionRefusedError, ConnectionResetError, ConnectionAbortedError, TimeoutError)):
            return True
        if isinstance(link, urllib.error.HTTPError):
            return link.code in (429, 500, 502, 503, 504)
        if isinstance(link, urllib.error.URLError) and isinstance(link.reason, OSError):
            return is_transient(link.reason)
        if module.startswith("neo4j"):
            if name in ("AuthError", "Forbidden", "ConfigurationError", "CypherSyntaxError", "ConstraintError"):
                return False
            if name in ("ServiceUnavailable", "SessionExpired", "TransientError", "DatabaseUnavailable"):
                return True
        if module.startswith("psycopg") or module.startswith("django.db"):
            if name == "OperationalError":
                sqlstate = getattr(link, "sqlstate", None) or getattr(link.__cause__, "sqlstate", None)
                text = str(link).lower()
                if sqlstate in _PG_PERMANENT_SQLSTATES or any(t in text for t in _PG_PERMANENT_TEXT):
                    return False
                return True
        if _grpc_code_name(link) in _GRPC_TRANSIENT:
            return True
        if module.startswith("pymilvus") and "fail connecting to server" in str(link).lower():
            return True
    return False


@dataclass(frozen=True)
class RetryLimits:
    attempts: int
    max_seconds: float
    initial_wait: float
    max_wait: float

    @classmethod
    def from_settings(cls) -> "RetryLimits":
        return cls(
            attempts=settings.STORE_RETRY_ATTEMPTS,
            max_seconds=settings.STORE_RETRY_MAX_SECONDS,
            initial_wait=settings.STORE_RETRY_INITIAL_WAIT,
            max_wait=settings.STORE_RETRY_MAX_WAIT,
        )


_single_attempt = contextvars.ContextVar("single_attempt", default=False)


@contextlib.contextmanager
def single_attempt():
    """Within this block the policy makes one attempt: probes (health) report now rather than wait."""
    token = _single_attempt.set(True)
    try:
        yield
    finally:
        _single_attempt.reset(token)


def retrying(store: str, limits: RetryLimits | None = None) -> tenacity.Retrying:
    """A tenacity controller for one call to `store`; gives up with StoreUnavailable, never a secret."""
    limits = limits or RetryLimits.from_settings()
    if _single_attempt.get():
        limits = RetryLimits(attempts=1, max_seconds=0, initial_wait=0, max_wait=0)

    def _log_retry(state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        logger.warning(
            "%s not reachable (attempt %d/%d, %s); retrying in %.1fs",
            store, state.attempt_number, limits.attempts, type(error).__name__,
            state.next_action.sleep if state.next_action else 0.0,
        )

    def _give_up(state: tenacity.RetryCallState):
        error = state.outcome.exception()
        if is_transient(error):
            # A call that already names the store (StoreUnavailable) gives its reason, not a second "is unreachable".
            reason = error.reason if isinstance(error, StoreUnavailable) else describe_error(error)
            raise StoreUnavailable(store, f"{reason} (gave up after {state.attempt_number} attempts)") from None
        raise error

    return tenacity.Retrying(
        retry=tenacity.retry_if_exception(is_transient),
        stop=tenacity.stop_after_attempt(limits.attempts) | tenacity.stop_after_delay(limits.max_seconds),
        wait=tenacity.wait_exponential_jitter(multiplier=limits.initial_wait, max=limits.max_wait, jitter=limits.initial_wait),
        before_sleep=_log_retry,
        retry_error_callback=_give_up,
        reraise=True,
    )


def call_with_retry(store: str, func, *args, limits: RetryLimits | None = None, **kwargs):
    return retrying(store, limits)(func, *args, **kwargs)


def describe_error(error: BaseException) -> str:
    """A one-line, credential-free description: the error's type and the first line of its text."""
    first_line = (str(error).strip().splitlines() or [""])[0]
    code = _grpc_code_name(error)
    if code and callable(getattr(error, "details", None)):  # a gRPC error's str() is a multi-line repr
        first_line = f"{code} ({error.details()})"
    text = redact(first_line)[:300]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

"""Who is calling: `Authorization: Bearer <key>` with a per-client key (apikeys), or in local mode only the
bootstrap API_TOKEN.

Missing or unknown key: 401. A key without the endpoint's scope: 403. Over API_RATE_LIMIT: 429 with
Retry-After. With API_TOKEN empty in local mode, a request without a key is let in as `anonymous` (auth off,
as before per-client keys); a key that is sent is still checked and recorded. Production takes per-client
keys only (its settings refuse an API_TOKEN; it is ignored here too, should one reach the settings).
"""

from __future__ import annotations

import hmac
import threading
from dataclasses import dataclass

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django_ratelimit.core import get_usage
from ninja.security import HttpBearer

from api.errors import MISSING_TOKEN, ApiError
from apikeys import selectors, services
from apikeys.models import ApiKey, Scope
from core.deadline import ABANDONED, DeadlineExceeded, call_with_deadline
from core.retry import StoreUnavailable

_UNITS = {"s": "second", "m": "minute", "h": "hour", "d": "day"}


@dataclass(frozen=True)
class Caller:
    name: str
    scopes: frozenset[str]
    ident: str  # what the rate limit counts by
    key: ApiKey | None = None  # recorded on the Query/Feedback it makes


def auth_is_off() -> bool:
    return not settings.API_TOKEN and not settings.PRODUCTION


def is_bootstrap_token(token: str) -> bool:
    """The local-mode API_TOKEN (never in production, where only per-client keys authenticate)."""
    expected = "" if settings.PRODUCTION else settings.API_TOKEN
    return bool(expected) and hmac.compare_digest(token.encode("utf-8", "surrogatepass"), expected.encode())


def caller_for(token: str) -> Caller | None:
    if is_bootstrap_token(token):
        return Caller("API_TOKEN", frozenset(Scope.values), "bootstrap")
    key = selectors.key_for_token(token)
    if key is None:
        return None
    return Caller(key.name, frozenset(key.scopes), f"key:{key.pk}", key)


class KeyAuth(HttpBearer):
    """django-ninja auth for one scope; also documents the bearer scheme in the OpenAPI document."""

    def __init__(self, scope: str):
        super().__init__()
        self.scope = scope

    def __call__(self, request):  # replaces HttpBearer's, which logs the header it did not understand
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            if not auth_is_off():
                raise ApiError(401, MISSING_TOKEN, WWW_Authenticate='Bearer realm="api"')
            token = ""
        return bounded_by_deadline(self._check, request, token)

    def _check(self, request, token: str) -> Caller:
        if token:
            caller = self.authenticate(request, token)
        else:
            caller = Caller("anonymous", frozenset(Scope.values), f"ip:{request.META.get('REMOTE_ADDR', '')}")
        admit(request, caller)
        return caller

    def authenticate(self, request, token: str) -> Caller:
        caller = caller_for(token)
        if caller is None:
            raise ApiError(401, "invalid bearer token (unknown, revoked or expired)",
                           WWW_Authenticate='Bearer realm="api", error="invalid_token"')
        if self.scope not in caller.scopes:
            raise ApiError(403, f"the key {caller.name} lacks the scope {self.scope} "
                                f"(it has: {', '.join(sorted(caller.scopes)) or 'none'})",
                           WWW_Authenticate=f'Bearer realm="api", error="insufficient_scope", scope="{self.scope}"')
        if caller.key is not None:
            services.note_use(caller.key)
        return caller


def admit(request, caller: Caller) -> None:
    """Count the request against the caller's API_RATE_LIMIT window; 429 with Retry-After over it."""
    rate = settings.API_RATE_LIMIT
    if not rate:
        return
    usage = get_usage(request, group="api", key=lambda group, request: caller.ident, rate=rate, increment=True)
    if usage is not None and usage["should_limit"]:
        retry = max(1, int(usage["time_left"]))
        count, per = rate.split("/")
        raise ApiError(429, f"rate limit exceeded: at most {count} requests per {per[:-1] + ' ' if per[:-1] else ''}"
                            f"{_UNITS[per[-1]]}{'s' if per[:-1] else ''} for {caller.name}; retry in {retry} s",
                       Retry_After=str(retry))


def bounded_by_deadline(func, *args):
    """func(*args) (the key lookup, its last-used note and the rate-limit counter: PostgreSQL work on the
    request's own connection) with at most SEARCH_TIMEOUT seconds of waiting.

    Why: a paused or wedged PostgreSQL keeps its sockets open and psycopg has no read timeout, so without a
    bound a request would hang forever before the search (which bounds its own calls) even starts. The work
    runs in a helper thread on the request's connection (shared, as Django's live-server tests share one, so a
    test's transaction stays visible); on expiry the request answers 503 naming PostgreSQL and goes on with a
    fresh connection, and the helper closes the stuck one when the server answers again. Work already stuck
    on PostgreSQL counts against SEARCH_MAX_ABANDONED, after which requests fail at once instead of piling up.
    """
    if ABANDONED.count(["PostgreSQL"]) >= settings.SEARCH_MAX_ABANDONED:
        raise StoreUnavailable("PostgreSQL", "not answering (earlier requests are still waiting on it)")
    shared = connections[DEFAULT_DB_ALIAS]
    shared.inc_thread_sharing()
    lock = threading.Lock()
    state = {"abandoned": False, "finished": False}

    def work():
        connections[DEFAULT_DB_ALIAS] = shared
        try:
            return func(*args)
        finally:
            with lock:
                state["finished"] = True
                abandoned = state["abandoned"]
            if abandoned:
                _release(shared)

    try:
        return call_with_deadline("PostgreSQL", settings.SEARCH_TIMEOUT, work, what="API key and rate limit")
    except DeadlineExceeded:
        with lock:
            state["abandoned"] = True
            finished = state["finished"]
        connections[DEFAULT_DB_ALIAS] = connections.create_connection(DEFAULT_DB_ALIAS)
        if finished:  # it ended between the deadline and here
            _release(shared)
        raise
    finally:
        if not state["abandoned"]:
            shared.dec_thread_sharing()


def _release(connection) -> None:
    """Close a connection a request gave up on (it is no longer any thread's)."""
    try:
        connection.close()
    except Exception:  # a broken connection is being dropped anyway
        pass
    finally:
        connection.dec_thread_sharing()

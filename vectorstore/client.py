"""The one module through which every Milvus call goes: the bound connection, per-call timeouts, clean errors.

Retries: opening the client is wrapped in the shared policy (core.retry), because it fails fast when
the server is down; each RPC already retries on its own within its `timeout=`, so `call()` only maps
failures to one-line, credential-free exceptions and never stacks another retry on top.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings

from core.redact import redact
from core.binding import ConnectionSlot
from core.retry import StoreUnavailable, call_with_retry, describe_error, is_transient
from core.uris import is_milvus_lite
from vectorstore import lite
from vectorstore._pymilvus import MilvusClient, MilvusException, grpc

STORE = "Milvus"
# pymilvus pings every 10 s even on an idle channel; Milvus Lite's gRPC server answers an idle channel's
# pings with GOAWAY "too_many_pings" after a few minutes, and the next call fails (seen in a test run after a
# 2-minute pause). A local Lite channel needs no keepalive: ping only while calls are in flight.
LITE_GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": False, "grpc.keepalive_time_ms": 300_000}
_COLLECTION_NOT_FOUND = 100  # the error code both standalone and Lite use
_COLLECTION_NOT_LOADED = 101



class VectorStoreError(Exception):
    """A Milvus call failed for a reason other than reachability; one line, no secrets."""


class CollectionNotFound(VectorStoreError):
    """The configured collection does not exist yet (run `manage.py milvus_create`)."""


class CollectionNotLoaded(VectorStoreError):
    """The collection exists but is not in memory: Milvus is loading it again after a restart, or nobody loaded it."""


class _Client(MilvusClient):
    """A MilvusClient whose repr names the server but never the token."""

    def __init__(self, uri: str, **kwargs):
        self._display_uri = uri
        super().__init__(uri=uri, **kwargs)

    def __repr__(self) -> str:
        return f"<MilvusClient {safe_uri(getattr(self, '_display_uri', '?'))}>"

    __str__ = __repr__


def is_lite(uri: str | None = None) -> bool:
    """True when the URI is a Milvus Lite .db path rather than a server URL."""
    uri = settings.MILVUS_URI if uri is None else uri
    return is_milvus_lite(uri)


def safe_uri(uri: str | None = None) -> str:
    """The URI as it may be shown in messages: credentials masked."""
    return redact(settings.MILVUS_URI if uri is None else uri)


class MilvusConnection:
    """One Milvus client for one server and token, opened on first use and closed by its owner.

    The owner is the process's stores.manager.DatabaseManager (closed at exit); tests build their own
    for other settings. The repr names the server, never the token.
    """

    def __init__(self, uri: str, token: str = "", timeout: float = 10.0):
        self.uri, self.timeout = uri, timeout
        self._token = token
        # A digest, not the token itself, so the identity never holds a secret in a debuggable structure.
        self.key = (uri, hashlib.sha256(token.encode()).hexdigest())
        self._client: MilvusClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls) -> MilvusConnection:
        return cls(settings.MILVUS_URI, settings.MILVUS_TOKEN or "", settings.MILVUS_TIMEOUT)

    def __repr__(self) -> str:
        return f"<MilvusConnection {safe_uri(self.uri)} {'open' if self._client else 'closed'}>"

    def client(self) -> MilvusClient:
        with self._lock:
            if self._client is None:
                self._client = self._open()
            return self._client

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:  # closing a broken connection must not hide the caller's own error
                pass

    def _open(self) -> MilvusClient:
        if is_lite(self.uri):
            Path(self.uri).parent.mkdir(parents=True, exist_ok=True)
            # Checked before pymilvus tries: milvus-lite 2.5's failed open deletes the holder's lock file on its
            # way out, after which the holder can no longer be named and a third process opens the file too.
            refusal = lite.format_problem(self.uri) or lite.explain_open_failure(self.uri)
            if refusal is not None:
                raise refusal
        try:
            options = {"grpc_options": LITE_GRPC_OPTIONS} if is_lite(self.uri) else {}
            client = call_with_retry(STORE, self._connect, **options)
            if is_lite(self.uri):
                _load_for_this_process(client)
            return client
        except StoreUnavailable as error:
            raise StoreUnavailable(STORE, f"{safe_uri(self.uri)}: {error.reason}") from None
        except (MilvusException, grpc.RpcError, OSError) as error:
            in_use = lite.explain_open_failure(self.uri) if is_lite(self.uri) else None
            if in_use is not None:
                raise in_use from None
            # `from None`: the driver's connection config (which holds the token) must not ride along.
            raise VectorStoreError(f"could not open Milvus at {safe_uri(self.uri)}: {describe_error(error)}") from None


    def _connect(self, **options) -> MilvusClient:
        if not is_lite(self.uri):
            # pymilvus 2.5 waits its whole timeout for the channel even when the port refuses: a refused TCP
            # connect fails at once (ConnectionRefusedError, transient), so retries and their budget work.
            address = urlsplit(self.uri if "://" in self.uri else f"http://{self.uri}")
            port = address.port or (443 if address.scheme == "https" else 19530)
            socket.create_connection((address.hostname or "127.0.0.1", port), timeout=min(self.timeout, 5)).close()
        # A connection of its own: pymilvus 2.5 shares one connection between every client of the same URI and token
        # in a process, so another client's close() (the app's own, a benchmark's raw one) would close ours.
        return _Client(uri=self.uri, token=self._token, timeout=self.timeout, alias=f"rag-data-layer-{uuid.uuid4().hex}",
                       **options)


_slot: ConnectionSlot[MilvusConnection] = ConnectionSlot(MilvusConnection.from_settings)
bind = _slot.bind
connection = _slot.current


def get_client() -> MilvusClient:
    """The open MilvusClient of the bound connection."""
    return connection().client()


def _load_for_this_process(client: MilvusClient) -> None:
    """Milvus Lite keeps load state per process: load the existing collection as a server would have it."""
    name = settings.MILVUS_COLLECTION
    if client.has_collection(name, timeout=settings.MILVUS_TIMEOUT):
        state = client.get_load_state(name, timeout=settings.MILVUS_TIMEOUT).get("state")
        if getattr(state, "name", str(state)) != "Loaded":
            client.load_collection(name, timeout=settings.MILVUS_TIMEOUT)


def forget_schema(name: str) -> None:
    """Drop the client's cached schema of collection `name` (or alias), so the next write describes it anew.

    pymilvus 2.5 caches a collection's schema per name on first write and checks rows against it on the
    client: after the name comes to mean a collection with other fields (dropped and created again, here or
    by another process, or an alias switched), a write fails with "Attempt to insert an unexpected field".
    pymilvus 2.5 keeps that cache in the connection handler's `schema_cache`; 3.x forgets on its own
    drop/create and offers `_invalidate_schema`.
    """
    handler = get_client()._get_connection()  # noqa: SLF001 -- pymilvus has no public way to reach its cache
    cache = getattr(handler, "schema_cache", None)
    if isinstance(cache, dict):
        cache.pop(name, None)
    elif hasattr(handler, "_invalidate_schema"):
        handler._invalidate_schema(name)  # noqa: SLF001


def loaded_segments(name: str) -> list[tuple[int, str]]:
    """(rows, index name or "") of every segment the server has loaded for search in collection `name`.

    pymilvus 3 has MilvusClient.list_loaded_segments; pymilvus 2.5 only the connection's
    get_query_segment_info (the same GetQuerySegmentInfo RPC, raw QuerySegmentInfo messages)."""
    client = get_client()
    try:
        if hasattr(client, "list_loaded_segments"):
            segments = client.list_loaded_segments(name, timeout=settings.MILVUS_TIMEOUT)
        else:
            segments = client._get_connection().get_query_segment_info(  # noqa: SLF001
                name, timeout=settings.MILVUS_TIMEOUT)
    except (MilvusException, grpc.RpcError) as error:
        raise translate_error(error, "list_loaded_segments", (name,)) from error
    return [(int(segment.num_rows), segment.index_name or "") for segment in segments]


def call(method: str, *args, **kwargs):
    """Run one MilvusClient method with the configured timeout, mapping failures to clean exceptions."""
    kwargs.setdefault("timeout", settings.MILVUS_TIMEOUT)
    client = get_client()
    try:
        return getattr(client, method)(*args, **kwargs)
    except (MilvusException, grpc.RpcError) as error:
        raise translate_error(error, method, args, kwargs) from error


def translate_error(error: BaseException, method: str, args=(), kwargs=None) -> Exception:
    """The exception to raise for a failed call: CollectionNotFound/NotLoaded, StoreUnavailable or VectorStoreError."""
    kwargs = kwargs or {}
    collection = kwargs.get("collection_name") or (args[0] if args and isinstance(args[0], str) else None)
    code = getattr(error, "code", None)
    if code == _COLLECTION_NOT_FOUND and collection:
        return CollectionNotFound(
            f"collection {collection!r} does not exist at {safe_uri()}; create it with `manage.py milvus_create`"
        )
    if code == _COLLECTION_NOT_LOADED and collection:
        return CollectionNotLoaded(
            f"collection {collection!r} is not loaded at {safe_uri()} (after a restart Milvus loads it again, which "
            f"can take a minute); if it stays so, run `manage.py init_stores`")
    if is_transient(error):
        return StoreUnavailable(STORE, f"{safe_uri()}: {describe_error(error)}")
    return VectorStoreError(f"Milvus {method} failed: {describe_error(error)}")


def collection_name() -> str:
    return settings.MILVUS_COLLECTION

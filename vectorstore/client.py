"""The one module through which every Milvus call goes: a cached client, per-call timeouts, clean errors.

Retries: opening the client is wrapped in the shared policy (core.retry), because it fails fast when
the server is down; each RPC already retries on its own within its `timeout=`, so `call()` only maps
failures to one-line, credential-free exceptions and never stacks another retry on top.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from urllib.parse import urlsplit

import grpc
from django.conf import settings
from pymilvus import MilvusClient
from pymilvus.exceptions import MilvusException

from config.env import MILVUS_SERVER_SCHEMES
from core.redact import redact
from core.retry import StoreUnavailable, call_with_retry, describe_error, is_transient

STORE = "Milvus"
_COLLECTION_NOT_FOUND = 100  # the error code both standalone and Lite use

_lock = threading.Lock()
_clients: dict[tuple[str, str], MilvusClient] = {}


class VectorStoreError(Exception):
    """A Milvus call failed for a reason other than reachability; one line, no secrets."""


class CollectionNotFound(VectorStoreError):
    """The configured collection does not exist yet (run `manage.py milvus_create`)."""


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
    return urlsplit(uri).scheme not in MILVUS_SERVER_SCHEMES


def safe_uri(uri: str | None = None) -> str:
    """The URI as it may be shown in messages: credentials masked."""
    return redact(settings.MILVUS_URI if uri is None else uri)


def _cache_key() -> tuple[str, str]:
    # A digest, not the token itself, so the cache never holds a secret in a debuggable structure.
    digest = hashlib.sha256((settings.MILVUS_TOKEN or "").encode()).hexdigest()
    return settings.MILVUS_URI, digest


def get_client() -> MilvusClient:
    """The shared client for the current settings.MILVUS_URI / MILVUS_TOKEN, created on first use."""
    key = _cache_key()
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _open(key[0])
            _clients[key] = client
        return client


def _open(uri: str) -> MilvusClient:
    if is_lite(uri):
        Path(uri).parent.mkdir(parents=True, exist_ok=True)

    try:
        client = call_with_retry(
            STORE, _Client, uri=uri, token=settings.MILVUS_TOKEN or "", timeout=settings.MILVUS_TIMEOUT
        )
        if is_lite(uri):
            _load_for_this_process(client)
        return client
    except StoreUnavailable as error:
        raise StoreUnavailable(STORE, f"{safe_uri(uri)}: {error.reason}") from None
    except (MilvusException, grpc.RpcError, OSError) as error:
        # `from None`: the driver's connection config (which holds the token) must not ride along.
        raise VectorStoreError(f"could not open Milvus at {safe_uri(uri)}: {describe_error(error)}") from None


def _load_for_this_process(client: MilvusClient) -> None:
    """Milvus Lite keeps load state per process: load the existing collection as a server would have it."""
    name = settings.MILVUS_COLLECTION
    if client.has_collection(name, timeout=settings.MILVUS_TIMEOUT):
        state = client.get_load_state(name, timeout=settings.MILVUS_TIMEOUT).get("state")
        if getattr(state, "name", str(state)) != "Loaded":
            client.load_collection(name, timeout=settings.MILVUS_TIMEOUT)


def reset_client() -> None:
    """Close and forget every cached client (tests switch settings; workers may fork)."""
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
    for client in clients:
        try:
            client.close()
        except Exception:  # closing a broken connection must not hide the caller's own error
            pass


def call(method: str, *args, **kwargs):
    """Run one MilvusClient method with the configured timeout, mapping failures to clean exceptions."""
    kwargs.setdefault("timeout", settings.MILVUS_TIMEOUT)
    client = get_client()
    try:
        return getattr(client, method)(*args, **kwargs)
    except (MilvusException, grpc.RpcError) as error:
        raise translate_error(error, method, args, kwargs) from error


def translate_error(error: BaseException, method: str, args=(), kwargs=None) -> Exception:
    """The exception to raise for a failed call: CollectionNotFound, StoreUnavailable or VectorStoreError."""
    kwargs = kwargs or {}
    collection = kwargs.get("collection_name") or (args[0] if args and isinstance(args[0], str) else None)
    code = getattr(error, "code", None)
    if code == _COLLECTION_NOT_FOUND and collection:
        return CollectionNotFound(
            f"collection {collection!r} does not exist at {safe_uri()}; create it with `manage.py milvus_create`"
        )
    if is_transient(error):
        return StoreUnavailable(STORE, f"{safe_uri()}: {describe_error(error)}")
    return VectorStoreError(f"Milvus {method} failed: {describe_error(error)}")


def collection_name() -> str:
    return settings.MILVUS_COLLECTION

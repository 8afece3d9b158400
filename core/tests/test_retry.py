"""The retry policy: transient errors retried with bounded backoff, permanent ones raised at once."""

from __future__ import annotations

import grpc
import neo4j.exceptions
import psycopg
import pytest
from pymilvus.exceptions import MilvusException

from core import retry
from core.retry import RetryLimits, StoreUnavailable, call_with_retry, is_transient

FAST = RetryLimits(attempts=4, max_seconds=5, initial_wait=0.001, max_wait=0.01)


class FakeRpcError(grpc.RpcError):
    def __init__(self, code):
        self._code = code

    def code(self):
        return self._code


def _milvus_unavailable():
    try:
        raise FakeRpcError(grpc.StatusCode.UNAVAILABLE)
    except FakeRpcError as cause:
        try:
            raise MilvusException(code=2, message="Fail connecting to server on 127.0.0.1:19530") from cause
        except MilvusException as error:
            return error


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(),
        neo4j.exceptions.ServiceUnavailable("gone"),
        neo4j.exceptions.SessionExpired("expired"),
        psycopg.OperationalError("connection failed: Connection refused"),
        FakeRpcError(grpc.StatusCode.UNAVAILABLE),
        FakeRpcError(grpc.StatusCode.DEADLINE_EXCEEDED),
        _milvus_unavailable(),
    ],
)
def test_transient_errors(error):
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        neo4j.exceptions.AuthError("bad credentials"),
        psycopg.OperationalError('password authentication failed for user "rag"'),
        psycopg.OperationalError('database "nope" does not exist'),
        FakeRpcError(grpc.StatusCode.INVALID_ARGUMENT),
        MilvusException(code=1100, message="schema mismatch"),
        ValueError("bad input"),
    ],
)
def test_permanent_errors(error):
    assert not is_transient(error)


def test_transient_failures_are_retried_until_success():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError
        return "ok"

    assert call_with_retry("Neo4j", flaky, limits=FAST) == "ok"
    assert len(calls) == 3


def test_attempts_are_bounded_and_the_error_names_the_store():
    calls = []

    def down():
        calls.append(1)
        raise ConnectionRefusedError("[Errno 111] Connection refused")

    with pytest.raises(StoreUnavailable, match=r"Milvus is unreachable: ConnectionRefusedError.*after 4 attempts"):
        call_with_retry("Milvus", down, limits=FAST)
    assert len(calls) == 4


def test_total_time_is_bounded():
    import time

    limits = RetryLimits(attempts=1000, max_seconds=0.3, initial_wait=0.05, max_wait=0.05)
    start = time.monotonic()
    with pytest.raises(StoreUnavailable):
        call_with_retry("PostgreSQL", lambda: (_ for _ in ()).throw(ConnectionRefusedError()), limits=limits)
    assert time.monotonic() - start < 5  # generous: this checks "bounded", not speed


def test_permanent_errors_are_not_retried():
    calls = []

    def rejected():
        calls.append(1)
        raise neo4j.exceptions.AuthError("The client is unauthorized")

    with pytest.raises(neo4j.exceptions.AuthError):
        call_with_retry("Neo4j", rejected, limits=FAST)
    assert calls == [1]


def test_give_up_message_carries_no_secret(settings):
    settings.NEO4J_PASSWORD = "pw-that-must-not-leak"

    def down():
        raise ConnectionRefusedError("cannot reach bolt://neo4j:pw-that-must-not-leak@host:7687")

    with pytest.raises(StoreUnavailable) as caught:
        call_with_retry("Neo4j", down, limits=FAST)
    assert "pw-that-must-not-leak" not in str(caught.value)


def test_limits_come_from_settings(settings):
    settings.STORE_RETRY_ATTEMPTS = 7
    assert retry.RetryLimits.from_settings().attempts == 7


def test_single_attempt_makes_one_try_and_still_names_the_store():
    calls = []

    def down():
        calls.append(1)
        raise ConnectionRefusedError

    with retry.single_attempt(), pytest.raises(StoreUnavailable, match="Milvus is unreachable"):
        call_with_retry("Milvus", down, limits=FAST)
    assert calls == [1]

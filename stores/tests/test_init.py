"""`init_stores`' Milvus step: retried when the server stalls for a moment (a just-restarted server holds DDL
until its previous process's sessions expire), one line naming Milvus when it keeps failing."""

from __future__ import annotations

import pytest

from core.retry import StoreUnavailable
from stores import services as init
from vectorstore import services as vector_services

pytestmark = pytest.mark.integration


def _stalling(times: int, calls: list):
    """ensure_collection failing `times` times as a stalled call does (a timeout behind the one-line error)."""
    real = vector_services.ensure_collection

    def ensure_collection():
        calls.append(1)
        if len(calls) <= times:
            try:
                raise TimeoutError("deadline exceeded")
            except TimeoutError as error:
                raise StoreUnavailable("Milvus", "http://milvus:19530: DEADLINE_EXCEEDED (Deadline Exceeded)") \
                    from error
        return real()

    return ensure_collection


@pytest.mark.django_db(transaction=True)
def test_a_stalled_first_ddl_is_retried_and_the_collection_made(milvus_backend, settings, monkeypatch):
    settings.STORE_RETRY_INITIAL_WAIT, settings.STORE_RETRY_MAX_WAIT = 0.01, 0.01
    calls: list = []
    monkeypatch.setattr(vector_services, "ensure_collection", _stalling(1, calls))
    lines: list[str] = []
    assert init.initialise(echo=lines.append) == []
    assert len(calls) == 2 and any(line.startswith("Milvus: created collection") for line in lines), lines


@pytest.mark.django_db(transaction=True)
def test_a_milvus_that_keeps_stalling_is_one_line_naming_it_once(milvus_backend, settings, monkeypatch):
    settings.STORE_RETRY_ATTEMPTS = 2
    settings.STORE_RETRY_INITIAL_WAIT, settings.STORE_RETRY_MAX_WAIT = 0.01, 0.01
    calls: list = []
    monkeypatch.setattr(vector_services, "ensure_collection", _stalling(99, calls))
    with pytest.raises(init.InitError) as raised:
        init.initialise(echo=lambda line: None)
    assert len(calls) == 2
    assert str(raised.value) == ("Milvus is unreachable: http://milvus:19530: DEADLINE_EXCEEDED (Deadline Exceeded) "
                                 "(gave up after 2 attempts)")

"""The Milvus management commands against the real engines (standalone AND Lite), via call_command."""

import io
import json

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from vectorstore import client, schema, selectors, services

from .conftest import unit_vector

pytestmark = pytest.mark.integration


def run(*args, **options):
    out = io.StringIO()
    call_command(*args, stdout=out, **options)
    return out.getvalue()


class FakeTerminal(io.StringIO):
    """Standard input that claims to be a terminal, holding what the operator types."""

    def isatty(self):
        return True


def test_milvus_create_is_idempotent(milvus_backend, small_dim):
    name = settings.MILVUS_COLLECTION
    assert run("milvus_create").startswith(f"created collection {name}")
    assert run("milvus_create").startswith(f"collection {name} already exists")


def test_milvus_create_names_the_differences(milvus_backend, small_dim):
    client.get_client().create_collection(
        settings.MILVUS_COLLECTION, schema=schema.build_schema(dim=8), index_params=schema.build_index_params()
    )
    with pytest.raises(CommandError, match=r"field 'embedding' has dim 8, expected 16 \(EMBEDDING_DIM\)"):
        run("milvus_create")


def test_milvus_describe(collection):
    services.upsert_chunks([
        {"chunk_id": "c1", "document_id": "d", "embedding": unit_vector(16, 0), "metadata": {}}
    ])
    status = json.loads(run("milvus_describe", "--json"))
    assert status["exists"] and status["row_count"] == 1 and status["load_state"] == "Loaded"
    assert status["schema_differences"] == [] and status["index"]["index_type"] == schema.index_type()
    text = run("milvus_describe")
    assert "embedding: FLOAT_VECTOR(dim=16)" in text and "rows: 1" in text and "load state: Loaded" in text


def test_milvus_describe_missing_collection(milvus_backend):
    assert json.loads(run("milvus_describe", "--json"))["exists"] is False
    assert "does not exist" in run("milvus_describe")


def test_milvus_drop_refuses_without_confirmation(collection, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal
    with pytest.raises(CommandError, match="pass --yes"):
        run("milvus_drop")
    monkeypatch.setattr("sys.stdin", FakeTerminal(""))
    with pytest.raises(CommandError, match="pass --yes"):
        run("milvus_drop", "--noinput")
    monkeypatch.setattr("sys.stdin", FakeTerminal("wrong_name\n"))
    with pytest.raises(CommandError, match="nothing dropped"):
        run("milvus_drop")
    assert selectors.collection_exists()


def test_milvus_drop_after_typing_the_name(collection, monkeypatch):
    monkeypatch.setattr("sys.stdin", FakeTerminal(settings.MILVUS_COLLECTION + "\n"))
    assert run("milvus_drop").startswith(f"dropped collection {settings.MILVUS_COLLECTION}")
    assert not selectors.collection_exists()


def test_milvus_drop_yes(collection):
    assert run("milvus_drop", "--yes").startswith("dropped collection")
    assert "does not exist" in run("milvus_drop", "--yes")


@pytest.mark.parametrize("command", [["milvus_create"], ["milvus_describe", "--json"], ["milvus_drop", "--yes"]])
def test_store_down_is_one_line_without_secrets(settings, command):
    """A closed port on loopback: the real driver fails to connect; no engine is mocked."""
    settings.MILVUS_URI = "http://root:uri-secret-pw@127.0.0.1:1"
    settings.MILVUS_TOKEN = "root:token-secret-xyz"
    settings.STORE_RETRY_ATTEMPTS = 2
    settings.STORE_RETRY_INITIAL_WAIT = settings.STORE_RETRY_MAX_WAIT = 0.01
    client.connection().close()
    try:
        with pytest.raises(CommandError) as raised:
            run(*command)
    finally:
        client.connection().close()
    message = str(raised.value)
    assert "\n" not in message and "Milvus" in message and "http://root:***@127.0.0.1:1" in message
    assert "uri-secret-pw" not in message and "token-secret-xyz" not in message

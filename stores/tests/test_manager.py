"""The one owner of the clients: lazy, bound for every store call, closed once, buildable with other settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from graphstore import client as graph_client
from stores.lifecycle import close_opened_clients
from stores.manager import DatabaseManager, current
from vectorstore import client as milvus_client
from vectorstore import selectors as vector_selectors

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.django_db
def test_a_manager_binds_its_connections_and_restores_the_previous_ones(milvus_backend, neo4j_store):
    before = (milvus_client.connection(), graph_client.connection())
    with DatabaseManager.from_settings() as stores:
        assert milvus_client.connection() is stores.milvus
        assert graph_client.connection() is stores.graph
        assert vector_selectors.collection_exists() is False  # a call through the bound client
        assert stores.milvus.client() is milvus_client.get_client()
    assert repr(stores.milvus).endswith("closed>")
    assert (milvus_client.connection(), graph_client.connection()) == before


@pytest.mark.django_db(transaction=True)  # init re-opens a connection after a restart: no test transaction
def test_health_and_init_through_the_manager(milvus_backend, neo4j_store):
    with DatabaseManager.from_settings() as stores:
        assert stores.init(echo=lambda line: None) == []
        assert stores.init(check=True, echo=lambda line: None) == []
        assert stores.health() == {"postgres": None, "milvus": None, "neo4j": None}


def test_reprs_name_the_servers_but_never_the_secrets(settings):
    settings.NEO4J_PASSWORD = "graph-secret-4711"
    settings.MILVUS_TOKEN = "milvus-secret-4711"
    stores = DatabaseManager.from_settings()
    text = repr(stores)
    assert "secret-4711" not in text
    assert settings.NEO4J_URI.split("//")[1] in text


def test_changed_settings_give_a_fresh_connection_and_close_the_old_one(settings, tmp_path):
    settings.MILVUS_URI = str(tmp_path / "a.db")
    first = milvus_client.connection()
    settings.MILVUS_URI = str(tmp_path / "b.db")
    second = milvus_client.connection()
    assert second is not first and second.uri.endswith("b.db")
    assert repr(first).endswith("closed>")


def test_closing_forgets_the_process_manager_and_the_next_call_reopens(settings, tmp_path):
    close_opened_clients()  # an earlier test's process manager may hold other settings
    settings.MILVUS_URI = str(tmp_path / "c.db")
    process = current()
    assert milvus_client.connection() is process.milvus
    close_opened_clients()
    assert repr(process.milvus).endswith("closed>") and milvus_client._slot.bound is None
    assert current() is not process


def test_a_process_closes_its_clients_at_exit(tmp_path):
    """StoresConfig.ready registers the close with atexit: a handler registered before Django (so it runs
    after ours) sees the connections closed and unbound."""
    code = f"""
import atexit, os
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings')
os.environ['MILVUS_URI'] = {str(tmp_path / 'exit.db')!r}
def after():
    from vectorstore import client
    print('closed' if client._slot.bound is None and repr(opened).endswith('closed>') else 'left open', flush=True)
atexit.register(after)
import django
django.setup()
from vectorstore import client
opened = client.connection()
client.get_client()
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("closed"), result.stdout


def test_gunicorn_worker_exit_hook_closes_the_clients(tmp_path, settings):
    """infrastructure/gunicorn.conf.py's worker_exit closes what the worker opened."""
    import runpy

    settings.MILVUS_URI = str(tmp_path / "worker.db")
    opened = milvus_client.connection()
    opened.client()
    hooks = runpy.run_path(str(REPO / "infrastructure" / "gunicorn.conf.py"))
    hooks["worker_exit"](server=None, worker=None)
    assert repr(opened).endswith("closed>") and milvus_client._slot.bound is None

"""`make test` leaves the stack of `make run` alone: its data, its processes, its ports.

A dev-profile stack of its own (PostgreSQL, Milvus standalone, Neo4j, in a temporary state directory on
free ports) stands in for a developer's `make run` stack, with a marker row, collection and node. Then,
through make itself and with that stack's variables exported in the shell (as a developer's .env or
profile would give them), what `make test` does: `make test-stack-up`, and `make test` on a probe file
that restarts an engine of the test stack and runs the destructive fixtures (neo4j_store wipes the whole
graph). The stand-in's markers and server pids must be unchanged; then it is stopped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from infrastructure.local import profiles
from tests.integration.engines import TEST_STACK_DIR, server_pids

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PROBE = REPO / "tests" / "integration" / "stack_probe.py"
ENGINES = ["postgres", "milvus", "neo4j"]
MARKER = uuid.uuid4().hex


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _without_profile(environ) -> dict[str, str]:
    """The outer run's environment minus the test profile and make's own variables."""
    drop = (*profiles.TEST_PROFILE, profiles.PROFILE_VARIABLE, profiles.ALLOW_STORES_VARIABLE,
            "MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "PYTEST_ADDOPTS", "PYTEST_CURRENT_TEST")
    return {key: value for key, value in environ.items() if key not in drop}


class DevStandIn:
    """A dev-profile stack in a temporary directory: what `make run` would be serving."""

    def __init__(self):
        TEST_STACK_DIR.mkdir(parents=True, exist_ok=True)  # a path the PostgreSQL system user can reach
        self.dir = Path(tempfile.mkdtemp(prefix="dev-stand-in-", dir=TEST_STACK_DIR))
        self.ports = {name: _free_port() for name in ("postgres", "milvus", "etcd", "etcd-peer", "neo4j")}
        self.env = {
            **_without_profile(os.environ),
            profiles.PROFILE_VARIABLE: "dev",
            "STACK_DIR": str(self.dir),
            "DATABASE_URL": f"postgres://rag:dev-stand-in-pw@127.0.0.1:{self.ports['postgres']}/rag",
            "MILVUS_URI": str(self.dir / "milvus-lite" / "knowledge.db"),
            "MILVUS_STANDALONE_URI": f"http://127.0.0.1:{self.ports['milvus']}",
            "MILVUS_ETCD_PORT": str(self.ports["etcd"]),
            "MILVUS_ETCD_PEER_PORT": str(self.ports["etcd-peer"]),
            "NEO4J_URI": f"bolt://127.0.0.1:{self.ports['neo4j']}",
            "NEO4J_PASSWORD": "dev-stand-in-neo4j-pw",
            "NEO4J_HEAP": "512m",
            "NEO4J_WARMUP_ROUNDS": "0",  # its Neo4j only has to answer; no background warm-up
        }

    def launcher(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-W", "ignore", "-m", "infrastructure.local", *args], cwd=REPO,
                              env=self.env, capture_output=True, text=True, timeout=400)

    def pids(self) -> dict[str, list[int]]:
        from infrastructure.local.milvus import MilvusStandalone
        from infrastructure.local.neo4j_engine import Neo4j
        from infrastructure.local.postgres import Postgres

        return {
            "postgres": [Postgres(stack_dir=self.dir).pid()],
            "milvus": sorted(p.pid for p in MilvusStandalone(stack_dir=self.dir)._binary_processes()),
            "neo4j": [Neo4j(stack_dir=self.dir).pid()],
        }

    # --- the marker data ----------------------------------------------------------------------
    def _pg(self):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.ports["postgres"], user="rag", password="dev-stand-in-pw",
                               dbname="rag", connect_timeout=5, autocommit=True)

    def _neo4j(self):
        from neo4j import GraphDatabase

        return GraphDatabase.driver(self.env["NEO4J_URI"], auth=("neo4j", self.env["NEO4J_PASSWORD"]))

    def _milvus(self):
        from vectorstore._pymilvus import import_pymilvus

        import_pymilvus()
        from pymilvus import MilvusClient

        return MilvusClient(uri=self.env["MILVUS_STANDALONE_URI"], timeout=30)

    def write_markers(self) -> None:
        from pymilvus import DataType

        with self._pg() as conn:
            conn.execute("CREATE TABLE dev_marker (id text PRIMARY KEY)")
            conn.execute("INSERT INTO dev_marker VALUES (%s)", (MARKER,))
        with self._neo4j() as driver:
            driver.execute_query("CREATE (:DevMarker {id: $id})", id=MARKER)
        client = self._milvus()
        try:
            schema = client.create_schema(auto_id=False)
            schema.add_field("pk", DataType.VARCHAR, is_primary=True, max_length=64)
            schema.add_field("vec", DataType.FLOAT_VECTOR, dim=4)
            index = client.prepare_index_params()
            index.add_index(field_name="vec", index_type="FLAT", metric_type="COSINE")
            client.create_collection("dev_marker", schema=schema, index_params=index, consistency_level="Strong")
            client.insert("dev_marker", [{"pk": MARKER, "vec": [0, 1, 0, 0]}])
        finally:
            client.close()

    def read_markers(self) -> dict[str, object]:
        with self._pg() as conn:
            rows = [row[0] for row in conn.execute("SELECT id FROM dev_marker")]
        with self._neo4j() as driver:
            records, _, _ = driver.execute_query("MATCH (n) RETURN n.id AS id")
            nodes = [record["id"] for record in records]
        client = self._milvus()
        try:
            vectors = [row["pk"] for row in client.query("dev_marker", filter="pk != ''", output_fields=["pk"])]
        finally:
            client.close()
        return {"postgres": rows, "neo4j": nodes, "milvus": vectors}


def _make(env: dict, *args: str) -> subprocess.CompletedProcess:
    # -o: the venv is there already; this is about the stacks, never about (re)installing packages.
    return subprocess.run(["make", "--no-print-directory", "-o", ".venv/.installed", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def test_make_test_leaves_a_running_dev_stack_untouched():
    dev = DevStandIn()
    try:
        up = dev.launcher("up", *ENGINES)
        assert up.returncode == 0, up.stdout + up.stderr
        dev.write_markers()
        pids_before, markers_before = dev.pids(), dev.read_markers()
        assert markers_before == {"postgres": [MARKER], "neo4j": [MARKER], "milvus": [MARKER]}
        assert all(pids and all(pids) for pids in pids_before.values()), pids_before
        test_neo4j_before = server_pids("neo4j")

        # The developer's shell points every store variable at the dev stack; `make test` must not follow it.
        shell = {**dev.env, "TEST_DB_SUFFIX": "untouched", "PYTEST_ARGS": f"{PROBE} -q -p no:cacheprovider"}
        shell.pop(profiles.PROFILE_VARIABLE)
        started = _make(shell, "test-stack-up")
        assert started.returncode == 0, started.stdout + started.stderr
        assert "already running" in started.stdout and str(dev.ports["postgres"]) not in started.stdout
        probe = _make(shell, "test")
        assert probe.returncode == 0, probe.stdout[-3000:] + probe.stderr[-3000:]
        assert "3 passed" in probe.stdout, probe.stdout[-3000:]

        assert server_pids("neo4j") != test_neo4j_before  # the probe did restart the test stack's Neo4j ...
        assert dev.pids() == pids_before  # ... and no engine of the dev stack
        assert dev.read_markers() == markers_before
        status = dev.launcher("status", *ENGINES)
        assert status.returncode == 0, status.stdout + status.stderr
    finally:
        down = dev.launcher("down", *ENGINES)
        shutil.rmtree(dev.dir, ignore_errors=True)
    assert down.returncode == 0, down.stdout + down.stderr
    assert not [name for name, port in dev.ports.items() if _port_open(port)]

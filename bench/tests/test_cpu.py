"""bench.cpu: the servers are found by their ports and their CPU counted, a backend that exited included."""

from __future__ import annotations

import os

import psycopg

from bench import cpu


def test_ports_come_from_the_store_addresses_and_milvus_lite_has_no_server():
    ports = cpu.server_ports({"DATABASE_URL": "postgres://u:p@127.0.0.1:15432/rag", "NEO4J_URI": "bolt://h:17687",
                              "MILVUS_URI": ".stack/milvus.db"})
    assert ports == {"PostgreSQL": 15432, "Neo4j": 17687}
    assert cpu.server_ports({})["Milvus"] == 19530


def test_the_cpu_of_a_postgresql_backend_is_counted_in_its_server():
    pids = cpu.listening_pids(cpu.server_ports())
    assert {"PostgreSQL", "Neo4j"} <= set(pids)  # the test stack is up (integration tests never skip)
    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:  # a backend (a child of the postmaster)
        with cpu.measured({"PostgreSQL": pids["PostgreSQL"]}, cores=2) as used:
            connection.execute("SELECT count(*) FROM generate_series(1, 3000000)").fetchone()
    assert used["servers_s"]["PostgreSQL"] > 0.1
    cpu.add_client(used, 1.0)
    assert used["total_s"] == round(1.0 + used["servers_s"]["PostgreSQL"], 2)
    assert used["floor_s"] == round(used["total_s"] / 2, 2)
    assert cpu.describe(used).startswith("CPU-s: client 1.0, PostgreSQL ")


def test_waiting_for_quiet_servers_returns_once_they_are_idle_and_gives_up_at_the_timeout():
    pids = cpu.listening_pids(cpu.server_ports())
    postgres = {"PostgreSQL": pids["PostgreSQL"]}
    assert cpu.wait_quiet(postgres, seconds=0.5, timeout=10) < 10  # an idle test-stack PostgreSQL
    with psycopg.connect(os.environ["DATABASE_URL"]) as connection:
        import threading

        busy = threading.Thread(target=lambda: connection.execute(
            "SELECT count(*) FROM generate_series(1, 40000000)").fetchone())
        busy.start()
        assert cpu.wait_quiet(postgres, seconds=0.5, timeout=1.5) >= 1.5  # a busy backend: waits it out
        busy.join()

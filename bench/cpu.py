"""CPU-seconds of the three servers and of a benchmark's own processes, around one measured step.

Why: the ingest goals compare wall times on a 2-core machine where the client, PostgreSQL, Neo4j and Milvus
all want CPU at once. CPU-seconds per process say where the work goes whatever else runs, and their sum over
the cores gives the floor no amount of overlapping can beat (`floor_s`): if that floor is above a goal, the
goal cannot be met on this machine by scheduling, only by doing less work.

A server is found by the port it listens on (the addresses in the settings); its CPU is its own, its live
children's (PostgreSQL's backends) and its reaped children's (a backend that exited during the step, once the
server has reaped it: one that exits at the very end of a step may fall outside it).
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

SERVERS = {"PostgreSQL": ("DATABASE_URL", 5432), "Neo4j": ("NEO4J_URI", 7687), "Milvus": ("MILVUS_URI", 19530)}


def server_ports(environ=os.environ) -> dict[str, int]:
    """{server: port} from the store addresses the benchmark uses (a Milvus Lite path has no server)."""
    ports = {}
    for name, (variable, default) in SERVERS.items():
        value = environ.get(variable, "")
        if name == "Milvus" and value and "://" not in value:
            continue  # Milvus Lite runs inside the client process: its CPU is the client's
        ports[name] = urlsplit(value).port or default if value else default
    return ports


def listening_pids(ports: dict[str, int]) -> dict[str, int]:
    """{server: pid} of the processes listening on those ports on this machine (absent when none is)."""
    import psutil

    wanted = {port: name for name, port in ports.items()}
    found = {}
    for connection in psutil.net_connections(kind="tcp"):
        if connection.status == psutil.CONN_LISTEN and connection.laddr and connection.pid \
                and connection.laddr.port in wanted:
            found[wanted[connection.laddr.port]] = connection.pid
    return found


def process_tree_seconds(pid: int) -> float:
    """user + system CPU of a process, its live descendants and the children it has reaped."""
    import psutil

    try:
        root = psutil.Process(pid)
        times = root.cpu_times()
        total = times.user + times.system + times.children_user + times.children_system
        for child in root.children(recursive=True):
            try:
                child_times = child.cpu_times()
                total += child_times.user + child_times.system
            except psutil.Error:
                pass  # exited meanwhile: counted in its parent's children_* once reaped
        return total
    except psutil.Error:
        return 0.0


def snapshot(pids: dict[str, int]) -> dict[str, float]:
    return {name: process_tree_seconds(pid) for name, pid in pids.items()}


@contextmanager
def measured(pids: dict[str, int] | None = None, cores: int | None = None):
    """`with measured() as cpu: ...`, then cpu holds {"servers_s": {...}, "total_s", "floor_s", "cores"} once the
    block ends; the caller adds its client's CPU with `add_client(cpu, seconds)`."""
    pids = listening_pids(server_ports()) if pids is None else pids
    before = snapshot(pids)
    result: dict = {}
    yield result
    after = snapshot(pids)
    servers = {name: round(after[name] - before[name], 2) for name in pids}
    result.update(servers_s=servers, cores=cores or os.cpu_count() or 1)
    add_client(result, 0.0)


def add_client(result: dict, client_seconds: float) -> dict:
    """Set the client's CPU and recompute the total and the floor (total over the cores)."""
    result["client_s"] = round(client_seconds, 2)
    total = client_seconds + sum(result["servers_s"].values())
    result["total_s"] = round(total, 2)
    result["floor_s"] = round(total / result["cores"], 2)
    return result


def describe(cpu: dict | None) -> str:
    """'CPU-s: client 5.1, PostgreSQL 1.2, Neo4j 3.0, Milvus 2.2 = 11.5 (floor on 2 cores 5.75 s)'."""
    if not cpu:
        return "CPU-s: not measured"
    parts = [f"client {cpu['client_s']}"] + [f"{name} {value}" for name, value in cpu["servers_s"].items()]
    return f"CPU-s: {', '.join(parts)} = {cpu['total_s']} (floor on {cpu['cores']} cores {cpu['floor_s']} s)"


def wait_quiet(pids: dict[str, int] | None = None, *, below: float = 0.25, seconds: float = 2.0,
               timeout: float = 120.0) -> float:
    """Wait until the servers together use less than `below` of a core for `seconds` in a row (at most `timeout`);
    returns the seconds waited. Why: Milvus seals, indexes and compacts in the background for tens of seconds
    after a write returns (at 100k rows: 15-20 CPU-s), which would otherwise be counted in the next measurement."""
    pids = listening_pids(server_ports()) if pids is None else pids
    started = time.monotonic()
    quiet_since, before = None, sum(snapshot(pids).values())
    while time.monotonic() - started < timeout:
        time.sleep(0.5)
        now = sum(snapshot(pids).values())
        busy, before = (now - before) / 0.5, now
        if busy >= below:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= seconds:
            break
    return round(time.monotonic() - started, 1)

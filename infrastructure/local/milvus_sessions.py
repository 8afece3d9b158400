"""Whether a Milvus standalone server can serve DDL: its components' sessions in its embedded etcd.

Milvus registers each component's session in etcd under a lease (`common.session.ttl`, 30 s). A restarted
server finds the previous process's sessions still there (etcd renews leases when it restarts), and until they
go, DDL waits on the dead components: right after a restart GetVersion and ListCollections answered at once
while CreateCollection took 19.5 s, so `init_stores` (10 s MILVUS_TIMEOUT) failed with DEADLINE_EXCEEDED.
`up` therefore waits until every registered session is the running server's, and ends the dead process's
leases itself once the new server has registered anything (what their expiry would do, up to 30 s sooner).

etcd is read and written through its JSON gateway on loopback (no etcd client package needed).
"""

from __future__ import annotations

import base64
import json
import urllib.request
from typing import NamedTuple

SESSION_PREFIX = "by-dev/meta/session/"  # etcd.rootPath (by-dev) + metaSubPath (meta) of the wheel's milvus.yaml
COMPONENTS = ("proxy", "querynode", "datanode")


class Session(NamedTuple):
    server_id: int
    lease: str  # etcd's lease id, as its JSON gateway writes it


def sessions_not_ready(sessions: dict[str, Session]) -> list[str]:
    """Why the registered sessions (by name) are not all the running server's; [] when they are.

    The running server is the newest ServerID (Milvus hands them out in increasing order; every component of
    a standalone process has the same one).
    """
    if not sessions:
        return ["no component registered yet"]
    current = max(session.server_id for session in sessions.values())
    problems = [f"{name} of a previous run" for name, session in sorted(sessions.items())
                if session.server_id != current]
    if "rootcoord" not in sessions or sessions["rootcoord"].server_id != current:
        problems.append("no root coordinator registered yet")
    problems += [f"no {role} registered yet" for role in COMPONENTS if f"{role}-{current}" not in sessions]
    return problems


def stale_leases(sessions: dict[str, Session]) -> list[str]:
    """The leases of sessions older than the newest server's: a previous process's (the launcher starts a server
    only when none runs on its data, and ServerIDs only grow). Its exclusive root coordinator key too, which
    the new root coordinator otherwise waits out (~30 s seen) before it registers."""
    if not sessions:
        return []
    current = max(session.server_id for session in sessions.values())
    return sorted({session.lease for session in sessions.values() if session.server_id < current and session.lease})


def registered_sessions(etcd_port: int, timeout: float = 3.0) -> dict[str, Session]:
    """The Milvus sessions in the embedded etcd, by name (`rootcoord`, `proxy-12`, ...)."""
    body = {"key": _encoded(SESSION_PREFIX), "range_end": _encoded(SESSION_PREFIX[:-1] + "0")}
    sessions = {}
    for pair in _post(etcd_port, "/v3/kv/range", body, timeout).get("kvs", []):
        value = json.loads(base64.b64decode(pair["value"]))
        if isinstance(value, dict) and "ServerID" in value:  # not the `id` counter
            name = base64.b64decode(pair["key"]).decode().removeprefix(SESSION_PREFIX)
            sessions[name] = Session(value["ServerID"], str(pair.get("lease") or ""))
    return sessions


def revoke_leases(etcd_port: int, leases: list[str], timeout: float = 3.0) -> None:
    """End these leases now: their sessions' keys go, and Milvus handles it as those components' exit."""
    for lease in leases:
        _post(etcd_port, "/v3/lease/revoke", {"ID": lease}, timeout)


def _encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _post(etcd_port: int, path: str, body: dict, timeout: float) -> dict:
    request = urllib.request.Request(f"http://127.0.0.1:{etcd_port}{path}", json.dumps(body).encode(),
                                     {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)

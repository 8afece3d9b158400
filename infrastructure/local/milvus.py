"""Milvus: the real standalone server from the `milvus==2.3.5` wheel, and Milvus Lite (embedded, a file).

`milvus-server` is a Python wrapper around `DATA/bin/milvus run standalone` (with embedded etcd); the
binary has been seen to outlive the wrapper, so stopping kills the whole process group and then any
stray `milvus` process still holding our data directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

from infrastructure.local.common import (
    REPO_DIR, STACK_DIR, VENV_BIN, Engine, EngineState, StackError, host_port, setting, spawn,
)
from infrastructure.local.milvus_sessions import registered_sessions, revoke_leases, sessions_not_ready, stale_leases

# The embedded etcd's client and peer ports. milvus-server only renders the client port into milvus.yaml
# (etcd.endpoints); the embedded etcd itself listens where its own config says, by default 2379 and 2380.
# Other ports get an embedded-etcd config file (ETCD_CONFIG_PATH, Milvus's etcd.config.path), so that two
# servers (the dev and the test stack) run side by side. Every other Milvus port the wrapper moves by itself
# to the next free one; only the proxy port is fixed (MILVUS_STANDALONE_URI).
DEFAULT_ETCD_PORTS = (2379, 2380)
ETCD_PORT = int(os.environ.get("MILVUS_ETCD_PORT") or DEFAULT_ETCD_PORTS[0])
ETCD_PEER_PORT = int(os.environ.get("MILVUS_ETCD_PEER_PORT") or DEFAULT_ETCD_PORTS[1])


def embed_etcd_config(client_port: int, peer_port: int) -> str:
    """The embedded etcd's own config (etcd's YAML keys), on loopback; Milvus sets its data dir and log itself."""
    client, peer = f"http://127.0.0.1:{client_port}", f"http://127.0.0.1:{peer_port}"
    return (
        "name: default\n"
        f"listen-client-urls: {client}\n"
        f"advertise-client-urls: {client}\n"
        f"listen-peer-urls: {peer}\n"
        f"initial-advertise-peer-urls: {peer}\n"
        f"initial-cluster: default={peer}\n"
    )


def _quiet_client(uri: str, timeout: float = 5):
    """A client for probing: a server still starting is an expected answer, which the launcher reports in its own
    line, so pymilvus' "[ERROR] Failed to create new connection" log (2.5) is silenced (Django's logging config
    does the same for the app)."""
    import logging

    from vectorstore._pymilvus import import_pymilvus

    import_pymilvus()  # pymilvus must not read MILVUS_URI when it is a Lite path
    from pymilvus import MilvusClient

    logging.getLogger("pymilvus.milvus_client._utils").setLevel(logging.CRITICAL)
    return MilvusClient(uri=uri, timeout=timeout)


class MilvusStandalone(Engine):
    name = "milvus"
    start_timeout = 180.0

    def address(self):
        return host_port(setting("MILVUS_STANDALONE_URI"), 19530)

    def other_ports(self):
        return [ETCD_PORT, ETCD_PEER_PORT]

    def failure_logs(self):
        logs = self.home / "data" / "logs"
        return [self.log_file, logs / "milvus-stdout.log", logs / "etcd.log"]

    def _binary_processes(self):
        import psutil

        prefix = str(self.home / "data")
        found = []
        for process in psutil.process_iter(["exe", "cmdline", "status"]):
            exe = process.info.get("exe") or ""
            cmdline = " ".join(process.info.get("cmdline") or [])
            if (exe.startswith(prefix) or f"{prefix}/bin/milvus" in cmdline) and \
                    process.info.get("status") != psutil.STATUS_ZOMBIE:
                found.append(process)
        return found

    # How long the wrapper may take to unpack and start the binary: on a fresh state directory of a loaded
    # 2-core machine this took over 15 s (the start then failed while the binary was coming up).
    BINARY_START_GRACE = 90.0

    def alive(self) -> bool:
        """The wrapper stays up when the binary dies, so once the binary was seen, the binary is what counts."""
        if not super().alive():
            return False
        if self._binary_processes():
            self._binary_seen = True
            return True
        if getattr(self, "_binary_seen", False):
            return False
        started = self.pid_file.stat().st_mtime if self.pid_file.exists() else time.time()
        return time.time() - started < self.BINARY_START_GRACE

    def install(self) -> None:
        if not (VENV_BIN / "milvus-server").exists():
            raise StackError("milvus: the `milvus` package (2.3.5) is missing from the venv; run `make venv`")

    def launch(self) -> int:
        _, port = self.address()
        env = {}
        if (ETCD_PORT, ETCD_PEER_PORT) != DEFAULT_ETCD_PORTS:
            config = self.home / "embed-etcd.yaml"
            config.write_text(embed_etcd_config(ETCD_PORT, ETCD_PEER_PORT))
            env["ETCD_CONFIG_PATH"] = str(config)
        return spawn(
            [str(VENV_BIN / "python"), "-m", "infrastructure.local.milvus_server", "--data", str(self.home / "data"),
             "--proxy-port", str(port), "--etcd-port", str(ETCD_PORT)],
            self.log_file, env=env, cwd=REPO_DIR,
        )

    def probe(self) -> str:
        host, port = self.address()
        client = _quiet_client(f"http://{host}:{port}")
        try:
            version = client.get_server_version()
            client.list_collections()
            return f"Milvus {version}"
        finally:
            client.close()

    def ready(self) -> None:
        """Every session in etcd is this server's (see milvus_sessions): DDL would not wait on a dead process."""
        sessions = registered_sessions(ETCD_PORT)
        problems = sessions_not_ready(sessions)
        if problems:
            revoke_leases(ETCD_PORT, stale_leases(sessions))  # a previous run's: ended now, not in up to 30 s
            raise StackError(f"milvus: answers, but cannot create collections yet: {'; '.join(problems)}")

    def cleanup_strays(self) -> None:
        import psutil

        for process in self._binary_processes():
            try:
                process.send_signal(signal.SIGKILL)
            except psutil.Error:
                pass
        end = time.monotonic() + 10
        while time.monotonic() < end and self._binary_processes():
            time.sleep(0.2)


class MilvusLite(Engine):
    """Embedded Milvus: nothing to keep running; 'up' proves it opens and answers on a probe file."""

    name = "milvus-lite"

    def database_path(self) -> Path:
        uri = setting("MILVUS_URI")
        if "://" in uri:
            return STACK_DIR / "milvus-lite" / "knowledge.db"
        path = Path(uri)
        return path if path.is_absolute() else REPO_DIR / path

    def address(self):
        return ("file", 0)

    def probe(self) -> str:
        from importlib.metadata import version

        probe_file = self.home / "probe.db"
        client = _quiet_client(str(probe_file))
        try:
            client.list_collections()
            return f"Milvus Lite {version('milvus-lite')}"
        finally:
            client.close()
            for leftover in self.home.glob("probe.db*"):
                if leftover.is_dir():
                    shutil.rmtree(leftover, ignore_errors=True)
                else:
                    leftover.unlink(missing_ok=True)

    def state(self) -> EngineState:
        from importlib.metadata import PackageNotFoundError, version

        try:
            lite_version = f"Milvus Lite {version('milvus-lite')}"
        except PackageNotFoundError:
            return EngineState(self.name, False, detail="milvus-lite is not installed; run `make venv`")
        path = self.database_path()
        detail = "embedded in the app process" + ("" if path.exists() else " (file created on first use)")
        return EngineState(self.name, True, lite_version, str(path.relative_to(REPO_DIR)) if
                           path.is_relative_to(REPO_DIR) else str(path), None, detail)

    def up(self) -> str:
        self.home.mkdir(parents=True, exist_ok=True)
        self.database_path().parent.mkdir(parents=True, exist_ok=True)
        try:
            version = self.probe()
        except Exception as error:
            raise StackError(f"milvus-lite: could not open an embedded database ({type(error).__name__}: "
                             f"{str(error).splitlines()[0] if str(error) else ''})") from None
        return f"milvus-lite: ready ({version}), database file {self.database_path()}"

    def down(self, deadline: float = 30.0) -> str:
        return "milvus-lite: embedded, nothing to stop"

    def pid(self):
        return None

"""What every engine of the local stack shares: state under .stack/, pid files, ports, waiting, stopping.

The profile (RAG_STACK=dev|test, see profiles.py) is applied to this process's environment on import, so
every engine, and every command it runs, sees the chosen profile's state directory, ports and passwords.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

REPO_DIR = Path(__file__).resolve().parents[2]

sys.path.insert(0, str(REPO_DIR))
from config.env import LOCAL_DEFAULTS  # noqa: E402  (plain module: no Django needed)
from infrastructure.local import profiles  # noqa: E402

ENVIRONMENT_GIVEN = dict(os.environ)  # before the profile: what `exec` hands on under RAG_TEST_ALLOW_STORES=1
try:
    PROFILE = profiles.apply(os.environ)
except profiles.ProfileError as error:
    raise SystemExit(f"ERROR {error}") from None
STACK_DIR = Path(os.environ.get("STACK_DIR") or REPO_DIR / ".stack").resolve()
VENV_BIN = Path(sys.executable).parent


class StackError(Exception):
    """An engine could not be installed, started or stopped; the message says which and what to do."""


def setting(name: str) -> str:
    """The same variable the app reads, with the same local default."""
    return os.environ.get(name) or LOCAL_DEFAULTS[name]


def host_port(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True


def log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return f"(no log at {path})"
    text = path.read_text(errors="replace").splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in text)


@dataclass
class EngineState:
    name: str
    running: bool
    version: str = "-"
    address: str = "-"
    pid: int | None = None
    detail: str = ""


class Engine:
    """One engine: subclasses say how to install, start, probe (its real protocol) and stop it."""

    name = "engine"
    start_timeout = 120.0

    def __init__(self, stack_dir: Path | None = None):
        self.home = Path(stack_dir or STACK_DIR) / self.name
        self.pid_file = self.home / f"{self.name}.pid"
        self.log_file = self.home / f"{self.name}.log"

    # --- to override ---------------------------------------------------------------------
    def address(self) -> tuple[str, int]:
        raise NotImplementedError

    def install(self) -> None:
        """Fetch whatever is missing (idempotent)."""

    def launch(self) -> int:
        """Start the engine in the background and return its pid."""
        raise NotImplementedError

    def probe(self) -> str:
        """Talk to the engine over its real protocol; return its version or raise."""
        raise NotImplementedError

    def ready(self) -> None:
        """Raise while the engine answers its probe but cannot yet serve what the app asks (checked by `up`)."""

    def other_ports(self) -> list[int]:
        return []

    def alive(self) -> bool:
        """Whether the engine's processes are still there (checked while waiting for start-up)."""
        return pid_alive(self.pid())

    def failure_logs(self) -> list[Path]:
        return [self.log_file]

    def _log_tails(self) -> str:
        return "\n".join(f"  last lines of {path}:\n{log_tail(path)}" for path in self.failure_logs())

    # --- shared behaviour ------------------------------------------------------------------
    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def state(self) -> EngineState:
        host, port = self.address()
        pid = self.pid()
        alive = pid_alive(pid)
        try:
            version = self.probe() if port_open(host, port) else None
        except Exception as error:  # a probe failure is a state to report, not a crash
            return EngineState(self.name, False, address=f"{host}:{port}", pid=pid if alive else None,
                               detail=f"not answering: {type(error).__name__}")
        running = version is not None
        detail = "" if running or not alive else "process alive but not answering"
        return EngineState(self.name, running, version or "-", f"{host}:{port}", pid if alive else None, detail)

    def up(self) -> str:
        host, port = self.address()
        if pid_alive(self.pid()):
            return self.wait(started=False)
        for busy in [port, *self.other_ports()]:
            if port_open(host, busy):
                raise StackError(
                    f"{self.name}: port {busy} on {host} is already taken by a process this stack did not start. "
                    f"Stop that process, or choose another port (see docs/operations.md: 'Ports and credentials')."
                )
        self.home.mkdir(parents=True, exist_ok=True)
        self.install()
        pid = self.launch()
        self.pid_file.write_text(str(pid))
        return self.wait(started=True)

    def wait(self, started: bool) -> str:
        deadline = time.monotonic() + self.start_timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not self.alive():
                raise StackError(f"{self.name} exited during start-up.\n{self._log_tails()}")
            try:
                version = self.probe()
                self.ready()
                return f"{self.name}: {'started' if started else 'already running'} ({version}) on " \
                       f"{':'.join(map(str, self.address()))}, pid {self.pid()}"
            except Exception as error:  # not ready yet: poll again until the deadline
                last_error = error
                time.sleep(1.0)
        # A StackError is ours (no secret in it): its text says what is missing; a driver's error only by type.
        last = str(last_error) if isinstance(last_error, StackError) else type(last_error).__name__
        raise StackError(f"{self.name} did not answer within {self.start_timeout:.0f}s (last error: {last}).\n"
                         f"{self._log_tails()}")

    def down(self, deadline: float = 30.0) -> str:
        pid = self.pid()
        if not pid_alive(pid):
            self.pid_file.unlink(missing_ok=True)
            self.cleanup_strays()
            return f"{self.name}: not running"
        self.terminate(pid, deadline)
        self.cleanup_strays()
        self.pid_file.unlink(missing_ok=True)
        return f"{self.name}: stopped"

    def terminate(self, pid: int, deadline: float) -> None:
        """SIGTERM to the engine's process group, then SIGKILL after the deadline."""
        _signal_group(pid, signal.SIGTERM)
        end = time.monotonic() + deadline
        while time.monotonic() < end and pid_alive(pid):
            time.sleep(0.2)
        if pid_alive(pid):
            _signal_group(pid, signal.SIGKILL)
            time.sleep(0.5)

    def cleanup_strays(self) -> None:
        """Kill leftover children that outlived their parent (seen with Milvus)."""


def _signal_group(pid: int, sig: int) -> None:
    """Signal the process and, when it leads its own group (we spawned it so), all its children too."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, sig)
        else:
            os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def spawn(command: list[str], log_file: Path, env: dict | None = None, cwd: Path | None = None) -> int:
    """Start a detached process (own session, so stopping its group stops its children) logging to a file."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})}, cwd=cwd, start_new_session=True,
        )
    return process.pid


def run(command: list[str], what: str, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip().splitlines()[-20:]
        raise StackError(f"{what} failed (exit {result.returncode}):\n" + "\n".join(f"    {l}" for l in output))
    return result

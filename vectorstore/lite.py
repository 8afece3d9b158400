"""Milvus Lite's one-process rule, explained: which process holds a Lite file when this one cannot open it.

Milvus Lite keeps its data in a directory (MILVUS_URI=...knowledge.db) and takes an exclusive `flock` on its
LOCK file for as long as a process has it open. A second process (a management command while `make run`
serves, a second gunicorn worker) cannot open it; Milvus Lite then logs a traceback and pymilvus raises a
bare "Open local milvus failed". `LiteFileInUse` says what happened in one line: the file, the process that
holds it (from /proc/locks), and what to do. It is a StoreUnavailable, so the API answers 503 naming Milvus
and every command prints the one line.
"""

from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from core.retry import StoreUnavailable

LOCK_FILE = "LOCK"
SERVER_HINT = "stop it, or use the Milvus server (MILVUS_URI=http://127.0.0.1:19530, what `make run` starts)"


class LiteFileInUse(StoreUnavailable):
    def __init__(self, path: str, holder: str):
        self.path, self.holder = path, holder
        reason = (f"the Milvus Lite file {path} is in use by another process ({holder}); Milvus Lite serves one "
                  f"process at a time: {SERVER_HINT}")
        super().__init__("Milvus", reason)
        self.args = (f"Milvus is unavailable: {reason}",)

    def __str__(self) -> str:
        return self.args[0]


def is_locked_by_other(path: str) -> bool:
    """True when another process holds the Lite file's lock (a non-blocking flock attempt fails)."""
    lock = Path(path) / LOCK_FILE
    if not lock.exists():
        return False
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as error:
        return error.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK)
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def lock_holder(path: str) -> str:
    """'pid 1234: python manage.py runserver' for the process holding the Lite file's lock, as far as the
    system tells (/proc/locks on Linux); 'process unknown' otherwise."""
    try:
        inode = (Path(path) / LOCK_FILE).stat().st_ino
        with open("/proc/locks") as table:
            lines = table.read().splitlines()
    except OSError:
        return "process unknown"
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 10944 fe:00:10002665 0 EOF" (blocked waiters have "->" first)
        if "->" in fields or len(fields) < 6 or fields[1] != "FLOCK":
            continue
        pid, device_inode = fields[4], fields[5]
        if device_inode.rsplit(":", 1)[-1] == str(inode) and pid.isdigit() and int(pid) != os.getpid():
            return f"pid {pid}: {_command_line(int(pid))}"
    return "process unknown"


def _command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return "?"
    words = [Path(word).name if n == 0 else word for n, word in enumerate(raw.decode(errors="replace").split("\0"))
             if word]
    text = " ".join(words)
    return text if len(text) <= 120 else text[:119] + "…"


def explain_open_failure(path: str) -> LiteFileInUse | None:
    """The LiteFileInUse to raise when `path` could not be opened because another process holds it, else None."""
    if is_locked_by_other(path):
        return LiteFileInUse(path, lock_holder(path))
    return None

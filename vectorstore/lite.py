"""Milvus Lite's one-process rule, explained: which process holds a Lite file when this one cannot open it.

Milvus Lite 2.5 (the pinned one) keeps its data in one file (MILVUS_URI=...knowledge.db) and takes an
exclusive lock on `.knowledge.db.lock` beside it for as long as a process has it open; Milvus Lite 3 kept a
directory with a LOCK file inside. A second process (a management command while `make run` serves, a second
gunicorn worker) cannot open it; pymilvus then raises a bare "Open local milvus failed". `LiteFileInUse` says
what happened in one line: the file, the process that holds it (from /proc/locks), and what to do. It is a
StoreUnavailable, so the API answers 503 naming Milvus and every command prints the one line.

`LiteFileFormat` does the same for a file Milvus Lite 2.5 cannot read: the directory Milvus Lite 3 wrote
(what `make run` made before the pin moved to 2.5). Its vectors cannot be converted, but every chunk is in
PostgreSQL, so the line says to move the directory aside and write the vectors again with `manage.py reconcile`.
"""

from __future__ import annotations

import errno
import fcntl
import os
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from core.retry import StoreUnavailable
from core.uris import is_milvus_lite

LOCK_FILE = "LOCK"  # inside a Milvus Lite 3 directory; Milvus Lite 2.5 locks `.<name>.lock` beside its file
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


class LiteFileFormat(StoreUnavailable):
    def __init__(self, path: str, version: str):
        self.path = path
        moved = f"{path}.lite3"
        reason = (f"the Milvus Lite file {path} is a directory written by Milvus Lite 3, which milvus-lite {version} "
                  f"cannot open; move it aside (mv {path} {moved}), then run `manage.py init_stores` and "
                  f"`manage.py reconcile` to write the vectors again from PostgreSQL")
        super().__init__("Milvus", reason)
        self.args = (f"Milvus is unavailable: {reason}",)

    def __str__(self) -> str:
        return self.args[0]


@lru_cache(maxsize=1)
def installed_version() -> str:
    try:
        return metadata.version("milvus-lite")
    except metadata.PackageNotFoundError:
        return "?"


def lacks_aliases_and_properties(uri: str) -> bool:
    """True for a Milvus Lite 2.5 file: no aliases, no collection properties, no rename (all UNIMPLEMENTED)."""
    return is_milvus_lite(uri) and installed_version().startswith("2.")


def format_problem(path: str) -> LiteFileFormat | None:
    """The LiteFileFormat to raise before opening `path` when the installed Milvus Lite cannot read it, else None."""
    version = installed_version()
    if Path(path).is_dir() and version.startswith("2."):
        return LiteFileFormat(path, version)
    return None


def lock_path(path: str) -> Path:
    """The file Milvus Lite locks while a process has `path` open (3: inside the directory, 2.5: beside the file)."""
    data = Path(path)
    return data / LOCK_FILE if data.is_dir() else data.parent / f".{data.name}.lock"


def is_locked_by_other(path: str) -> bool:
    """True when another process holds the Lite file's lock (/proc/locks, else a non-blocking flock attempt)."""
    lock = lock_path(path)
    if not lock.exists():
        return False
    pid = _holder_pid(lock)
    if pid is not None:
        return pid != 0
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


def _holder_pid(lock: Path) -> int | None:
    """The pid of another process holding a lock on `lock` by /proc/locks; 0 when none does; None when the
    system does not tell (no /proc/locks)."""
    try:
        inode = lock.stat().st_ino
        with open("/proc/locks") as table:
            lines = table.read().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 10944 fe:00:10002665 0 EOF" (Lite 3's flock; Lite 2.5's lockf is "POSIX");
        # blocked waiters have "->" first (Lite 2.5's server process waits on its parent's lock to notice its exit)
        if "->" in fields or len(fields) < 6 or fields[1] not in ("FLOCK", "POSIX"):
            continue
        pid, device_inode = fields[4], fields[5]
        if device_inode.rsplit(":", 1)[-1] == str(inode) and pid.isdigit() and int(pid) != os.getpid():
            return int(pid)
    return 0


def lock_holder(path: str) -> str:
    """'pid 1234: python manage.py runserver' for the process holding the Lite file's lock, as far as the
    system tells (/proc/locks on Linux); 'process unknown' otherwise."""
    pid = _holder_pid(lock_path(path)) if lock_path(path).exists() else None
    return f"pid {pid}: {_command_line(pid)}" if pid else "process unknown"


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

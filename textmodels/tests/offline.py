"""A fresh Python process with every socket connect refused, no proxy, no cache and no home: where a shipped model
must still load (the tests of wordllama and minilm)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run_without_network(code: str) -> str:
    """Run `code` after the sockets are disabled; its stdout (the test fails with stderr if it exits non-zero)."""
    prelude = ("import socket\n"
               "def refuse(*a, **k): raise OSError('no network')\n"
               "socket.socket.connect = refuse; socket.create_connection = refuse\n")
    env = {**{k: v for k, v in os.environ.items() if "PROXY" not in k.upper()}, "HOME": "/nonexistent",
           "XDG_CACHE_HOME": "/nonexistent", "DJANGO_SETTINGS_MODULE": "config.settings"}
    result = subprocess.run([sys.executable, "-c", prelude + code], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()

"""infrastructure.gunicorn_worker under real gunicorn: max_requests restarts lose no request sent on a kept-alive
connection (gthread's own worker left such requests unanswered: BrokenPipeError / ConnectionResetError)."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _serve(tmp_path, worker_class: str, max_requests: int):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = tmp_path / "gunicorn.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--worker-class", worker_class, "--workers", "2", "--threads", "2",
         "--max-requests", str(max_requests), "--keep-alive", "5", "--bind", f"127.0.0.1:{port}",
         "--log-level", "info", "tests.gunicorn_app:app"],
        cwd=REPO, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "GUNICORN_CMD_ARGS": ""})
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return process, port, log
        except OSError:
            time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError(f"gunicorn did not start: {log.read_text()[-2000:]}")


def _hammer(port: int, clients: int, seconds: float) -> tuple[int, dict]:
    """Each client on one keep-alive connection, POSTing back to back, never retrying: (answered, errors)."""
    answered, errors, lock = [0], {}, threading.Lock()
    stop_at = time.monotonic() + seconds

    def client():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        while time.monotonic() < stop_at:
            try:
                conn.request("POST", "/search", body=b'{"query": "q"}', headers={"Content-Type": "application/json"})
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
                name = str(response.status)
            except (OSError, http.client.HTTPException) as error:
                ok, name = False, type(error).__name__
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            with lock:
                if ok:
                    answered[0] += 1
                else:
                    errors[name] = errors.get(name, 0) + 1
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered[0], errors


def test_max_requests_restarts_answer_every_request_sent_on_a_kept_alive_connection(tmp_path):
    process, port, log = _serve(tmp_path, "infrastructure.gunicorn_worker.DrainingThreadWorker", max_requests=40)
    try:
        answered, errors = _hammer(port, clients=6, seconds=4)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    restarts = log.read_text().count("Autorestarting worker")
    assert restarts >= 5, log.read_text()[-2000:]  # the restarts happened, many times
    assert errors == {} and answered > 200, log.read_text()[-3000:]

"""The production-like servers of the browser test: gunicorn (two workers) behind nginx terminating TLS on loopback.

Everything they write (certificate, nginx config and logs, gunicorn's log, collected static files) lives in the
test's temporary directory; both servers are stopped by process id when the test ends. The tools come from
Debian (`make browser-deps`, a prerequisite of `make test`, installs them when missing): a missing one fails
the test with what to run, it never skips.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TOOLS = {"chromium": "/usr/bin/chromium", "chromedriver": "/usr/bin/chromedriver", "nginx": NGINX,
         "openssl": shutil.which("openssl") or "/usr/bin/openssl"}


def missing_tools() -> list[str]:
    return [name for name, path in TOOLS.items() if not (shutil.which(name) or os.access(path, os.X_OK))]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def make_certificate(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([TOOLS["openssl"], "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-days", "2",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True, timeout=60)
    return cert, key


NGINX_CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/nginx-error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log {dir}/nginx-access.log;
    client_body_temp_path {dir}/client-body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{https_port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://127.0.0.1:{app_port};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto https;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 60s;
        }}
    }}
}}
"""


@dataclass
class Servers:
    directory: Path
    environment: dict
    https_port: int = field(default_factory=free_port)
    app_port: int = field(default_factory=free_port)
    processes: list = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"https://localhost:{self.https_port}"

    def start(self) -> Servers:
        cert, key = make_certificate(self.directory)
        self.cert = cert
        static = self.environment["DJANGO_STATIC_ROOT"]
        collected = subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"], cwd=REPO,
                                   env=self.environment, capture_output=True, text=True, timeout=300)
        assert collected.returncode == 0 and Path(static).is_dir(), collected.stderr
        gunicorn_log = open(self.directory / "gunicorn.log", "w")
        self.processes.append(subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "infrastructure/gunicorn.conf.py", "--workers", "2",
             "--bind", f"127.0.0.1:{self.app_port}", "config.wsgi:application"],
            cwd=REPO, env=self.environment, stdout=gunicorn_log, stderr=subprocess.STDOUT, start_new_session=True))
        (self.directory / "nginx.conf").write_text(NGINX_CONF.format(
            dir=self.directory, https_port=self.https_port, app_port=self.app_port, cert=cert, key=key))
        nginx_log = open(self.directory / "nginx.out", "w")
        self.processes.append(subprocess.Popen(
            [TOOLS["nginx"], "-p", str(self.directory), "-e", str(self.directory / "nginx-error.log"),
             "-c", str(self.directory / "nginx.conf")], stdout=nginx_log, stderr=subprocess.STDOUT))
        self.wait_until_up()
        return self

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.cert))

    def get(self, url: str, headers: dict | None = None, data: bytes | None = None, timeout: float = 60):
        """(status, headers, body) of a request; TLS verified against the test's certificate."""
        request = urllib.request.Request(url, data=data, headers=headers or {})
        context = self.ssl_context() if url.startswith("https") else None
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def wait_until_up(self, seconds: float = 120.0) -> None:
        deadline = time.monotonic() + seconds
        last = None
        while time.monotonic() < deadline:
            for process in self.processes:
                if process.poll() is not None:
                    raise AssertionError(f"a server exited ({process.args[:3]}): {self.logs()}")
            try:
                status, _, _ = self.get(f"{self.origin}/health/live/", timeout=5)
                if status == 200:
                    return
                last = status
            except OSError as error:
                last = error
            time.sleep(0.5)
        raise AssertionError(f"the servers did not answer within {seconds:g}s ({last}): {self.logs()}")

    def logs(self) -> str:
        texts = []
        for name in ("gunicorn.log", "nginx-error.log", "nginx.out"):
            path = self.directory / name
            if path.exists():
                texts.append(f"--- {name}\n" + path.read_text()[-3000:])
        return "\n".join(texts)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    if process.args[1:3] == ["-m", "gunicorn"]:
                        os.killpg(process.pid, signal.SIGTERM)
                    else:
                        process.send_signal(signal.SIGQUIT)  # nginx: graceful stop
                except ProcessLookupError:
                    pass
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

"""The image and its server, as data (no Docker engine here): the Dockerfile's rules, gunicorn's settings
against the proxy's and compose's timeouts, and requirements.lock against requirements.txt."""

from __future__ import annotations

import json
import os
import re
import runpy
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parent.parent
INFRA = REPO / "infrastructure"


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of each Dockerfile instruction, continuation lines joined, comments dropped."""
    instructions, pending = [], ""
    for line in (REPO / "Dockerfile").read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        pending += line.rstrip("\\").strip() + " " if line.endswith("\\") else line.strip()
        if not line.endswith("\\"):
            keyword, _, arguments = pending.partition(" ")
            instructions.append((keyword.upper(), " ".join(arguments.split())))
            pending = ""
    return instructions


INSTRUCTIONS = dockerfile()


def of(keyword: str) -> list[str]:
    return [arguments for instruction, arguments in INSTRUCTIONS if instruction == keyword]


def env_values() -> dict[str, str]:
    values = {}
    for arguments in of("ENV"):
        for pair in shlex.split(arguments):
            name, _, value = pair.partition("=")
            values[name] = value
    return values


def test_base_image_is_an_exact_python_release():
    assert len(of("FROM")) == 1
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm(@sha256:[0-9a-f]{64})?", of("FROM")[0]), of("FROM")


def test_dependencies_come_only_from_the_hashed_lock_file():
    installs = [run for run in of("RUN") if "pip install" in run]
    assert installs == ["pip install --no-deps --require-hashes -r requirements.lock"]
    assert "COPY requirements.lock ." in [f"COPY {c}" for c in of("COPY")]
    copy_lock = INSTRUCTIONS.index(("COPY", "requirements.lock ."))
    assert copy_lock < INSTRUCTIONS.index(("RUN", installs[0])) < INSTRUCTIONS.index(("COPY", ". ."))


def test_static_files_are_collected_at_build_with_the_hashed_storage():
    collect = [run for run in of("RUN") if "collectstatic" in run]
    assert len(collect) == 1 and "--noinput" in collect[0]
    assert "DJANGO_DEBUG=false" in collect[0], "DEBUG off selects WhiteNoise's compressed manifest storage"
    assert "DJANGO_STATIC_ROOT=/app/staticfiles" in collect[0]
    assert env_values()["DJANGO_STATIC_ROOT"] == "/app/staticfiles"
    assert INSTRUCTIONS.index(("RUN", collect[0])) < [i for i, (k, _) in enumerate(INSTRUCTIONS) if k == "USER"][0]


def test_the_image_is_production_by_default_and_runs_as_a_numeric_non_root_user_with_a_home():
    env = env_values()
    assert env["DJANGO_ENV"] == "production"
    users = of("USER")
    assert users == ["10001:10001"], "numeric, so that runAsNonRoot can check it"
    useradd = next(run for run in of("RUN") if "useradd" in run)
    assert "--uid 10001" in useradd and "--gid 10001" in useradd and "--create-home" in useradd
    home = re.search(r"--home-dir (\S+)", useradd).group(1)
    assert env["HOME"] == home and home != "/app", "the home is writable, the source is not"


def test_cmd_runs_init_stores_then_gunicorn_with_its_config_file():
    (cmd,) = of("CMD")
    assert cmd.index("init_stores") < cmd.index("exec gunicorn -c infrastructure/gunicorn.conf.py config.wsgi:application")
    assert (REPO / "config" / "wsgi.py").is_file()
    ignored = (REPO / ".dockerignore").read_text().split()
    assert {".env", ".venv", ".git", ".stack"} <= set(ignored)


def gunicorn_settings(monkeypatch, tmp_path, **env) -> dict:
    # The config file makes a metrics directory of its own unless one is named: name one, kept to this test.
    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    for name in ("GUNICORN_BIND", "GUNICORN_WORKERS", "GUNICORN_THREADS", "GUNICORN_TIMEOUT",
                 "GUNICORN_GRACEFUL_TIMEOUT", "GUNICORN_KEEPALIVE", "GUNICORN_FORWARDED_ALLOW_IPS",
                 "GUNICORN_MAX_REQUESTS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(INFRA / "gunicorn.conf.py"))


def seconds(text: str) -> int:
    match = re.fullmatch(r"(\d+)(s|m)", text)
    return int(match.group(1)) * (60 if match.group(2) == "m" else 1)


def test_gunicorn_runs_threads_with_timeouts_below_the_proxy_and_compose(monkeypatch, tmp_path):
    conf = gunicorn_settings(monkeypatch, tmp_path)
    assert conf["worker_class"] == "infrastructure.gunicorn_worker.DrainingThreadWorker"  # gthread, draining
    assert conf["threads"] >= 2 and conf["workers"] >= 2
    assert conf["bind"] == "0.0.0.0:8000"
    caddyfile = (INFRA / "proxy" / "Caddyfile").read_text()
    proxy_timeout = seconds(re.search(r"response_header_timeout (\S+)", caddyfile).group(1))
    assert conf["timeout"] < proxy_timeout, "gunicorn, not the proxy, ends a stuck request"
    base = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
    assert conf["graceful_timeout"] < seconds(base["services"]["app"]["stop_grace_period"]), \
        "requests in flight finish before Docker's SIGKILL"
    prod = yaml.safe_load((INFRA / "docker-compose.prod.yml").read_text())["services"]["app"]["environment"]
    for name, key in (("GUNICORN_TIMEOUT", "timeout"), ("GUNICORN_GRACEFUL_TIMEOUT", "graceful_timeout"),
                      ("GUNICORN_WORKERS", "workers"), ("GUNICORN_THREADS", "threads")):
        assert prod[name] == f"${{{name}:-{conf[key]}}}", f"compose's default of {name} is gunicorn's"
    settings_timeout = re.search(r'"SEARCH_TIMEOUT", ([\d.]+)', (REPO / "config" / "settings" / "search.py").read_text())
    assert float(settings_timeout.group(1)) < conf["timeout"], "a slow search gets its own 503 first"
    assert conf["forwarded_allow_ips"] == "127.0.0.1,::1", "outside compose only a local proxy is trusted"


def test_gunicorn_settings_follow_the_environment(monkeypatch, tmp_path):
    conf = gunicorn_settings(monkeypatch, tmp_path, GUNICORN_WORKERS="2", GUNICORN_TIMEOUT="20",
                             GUNICORN_FORWARDED_ALLOW_IPS="*", GUNICORN_BIND="127.0.0.1:9000")
    assert (conf["workers"], conf["timeout"], conf["forwarded_allow_ips"], conf["bind"]) == (
        2, 20, "*", "127.0.0.1:9000")


def locked() -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of requirements.lock."""
    text = (REPO / "requirements.lock").read_text().replace("\\\n", " ")
    packages = {}
    for line in text.splitlines():
        line = line.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        hashes = [option.removeprefix("--hash=") for option in options if option.startswith("--hash=")]
        packages[name.lower().replace("_", "-")] = (version, hashes)
    return packages


def test_the_lock_pins_every_package_with_hashes():
    packages = locked()
    assert packages, "requirements.lock is empty"
    for name, (version, hashes) in packages.items():
        assert re.fullmatch(r"[0-9][0-9A-Za-z.+!-]*", version), f"{name} is not pinned to one version"
        assert hashes and all(h.startswith("sha256:") for h in hashes), f"{name} has no sha256 hash"


@pytest.mark.parametrize("line", [line.split("#")[0].strip() for line in (REPO / "requirements.txt").read_text().splitlines()
                                  if line.split("#")[0].strip()])
def test_the_lock_satisfies_requirements_txt(line):
    requirement = Requirement(line)
    packages = locked()
    name = requirement.name.lower().replace("_", "-")
    assert name in packages, f"requirements.lock lacks {name}: run `make lock` after changing requirements.txt"
    version = packages[name][0]
    assert requirement.specifier.contains(version, prereleases=True), \
        f"requirements.lock has {name}=={version}, outside {requirement.specifier}: run `make lock`"


def test_the_caddyfile_is_valid_and_proxies_to_the_app_with_the_documented_timeout():
    """Caddy itself parses the proxy's config (Debian's caddy; `make test` installs it with the browser tools)."""
    caddy = shutil.which("caddy")
    assert caddy, "caddy is not installed: `make browser-deps` (or apt-get install caddy) installs it"
    result = subprocess.run([caddy, "adapt", "--config", str(INFRA / "proxy" / "Caddyfile"), "--adapter", "caddyfile"],
                            env={**os.environ, "SITE_ADDRESS": "rag.example.com"}, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    config = json.loads(result.stdout)
    server = config["apps"]["http"]["servers"]["srv0"]
    assert server["listen"] == [":443"] and server["routes"][0]["match"] == [{"host": ["rag.example.com"]}]
    handlers = {h["handler"]: h for h in server["routes"][0]["handle"][0]["routes"][0]["handle"]}
    proxy = handlers["reverse_proxy"]
    assert proxy["upstreams"] == [{"dial": "app:8000"}]
    assert proxy["transport"]["response_header_timeout"] == 60 * 10**9  # the 60 s the gunicorn test compares with
    assert "X-Request-Id" in proxy["headers"]["request"]["set"]
    assert config["admin"]["listen"] == "127.0.0.1:2019", "the healthcheck's address"

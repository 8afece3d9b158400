"""`make compose-check`: validate the compose files with the real Docker Compose v2 CLI, no Docker engine needed.

    python -m infrastructure.compose_check            build the CLI if it is not cached, then check
    python -m infrastructure.compose_check --build    only make sure the CLI is built (make test starts this early)

Debian ships only Compose v1, and `go install` refuses the v2 module (its go.mod has exclude directives), so
the CLI is built from the Go module proxy: `go mod download` the module, copy it to a writable folder, `go
build ./cmd`. The binary is cached as .stack/tools/docker-compose-<version> (and in ~/.cache/rag-data-layer/,
for fresh clones): built once per machine. Then
`docker-compose -f base [-f override] config` merges and validates base, base+dev and base+prod, with the
variables of infrastructure/.env.example and throwaway secrets, and the merged result is checked for what
production relies on (exact image versions, the TLS proxy, only the proxy published in production, no
local-only setting such as API_TOKEN handed to a production service).
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
INFRA = REPO / "infrastructure"
COMPOSE_VERSION = "v2.40.3"
MODULE = "github.com/docker/compose/v2"
TOOLS = REPO / ".stack" / "tools"
BINARY = TOOLS / f"docker-compose-{COMPOSE_VERSION}"
# A copy outside the work tree, so that a fresh clone on the same machine (CI) does not build it again.
USER_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "rag-data-layer" / BINARY.name
BASE = INFRA / "docker-compose.yml"
COMBINATIONS = {"base": [], "base+dev": ["docker-compose.dev.yml"], "base+prod": ["docker-compose.prod.yml"]}
# An exact release: x.y.z somewhere in the tag (v2.5.27, 0.8.1-pg17, 5.26.30-community) or MinIO's dated tags.
EXACT_TAG = re.compile(r"(^|[^0-9.])v?\d+\.\d+\.\d+($|[^0-9.])|^RELEASE\.\d{4}-\d\d-\d\dT")
SECRETS = ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "NEO4J_PASSWORD", "MINIO_ROOT_PASSWORD")
# Settings of local mode only: production refuses to start with them, so no production service may get them.
LOCAL_ONLY = ("API_TOKEN",)


class CheckError(Exception):
    """One line saying what failed and what to do."""


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, **kwargs)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "(no output)"


def build(binary: Path = BINARY) -> float:
    """Build the Compose CLI into `binary` unless it is there; seconds spent (0 when cached)."""
    if binary.is_file():
        return 0.0
    go = shutil.which("go") or ("/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").is_file() else None)
    if go is None:
        raise CheckError("the Go toolchain is not installed: it builds the Compose v2 CLI (apt-get install golang-go)")
    TOOLS.mkdir(parents=True, exist_ok=True)
    with open(TOOLS / "compose-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a second build waits for the first, then finds the binary
        if binary.is_file():
            return 0.0
        if binary == BINARY and USER_CACHE.is_file():
            shutil.copy2(USER_CACHE, binary)
            return 0.0
        started = time.monotonic()
        download = _run([go, "mod", "download", "-json", f"{MODULE}@{COMPOSE_VERSION}"], timeout=1800)
        if download.returncode != 0:
            raise CheckError(f"go mod download {MODULE}@{COMPOSE_VERSION} failed: {_last_line(download.stdout + download.stderr)}")
        module_dir = Path(json.loads(download.stdout)["Dir"])
        with tempfile.TemporaryDirectory(dir=TOOLS, prefix="compose-src-") as work:
            source = Path(work) / "compose"
            shutil.copytree(module_dir, source)  # the module cache is read-only; go build wants to write go.sum
            for path in [source, *source.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)
            partial = binary.with_name(binary.name + ".partial")
            version_flag = f"-X {MODULE}/internal.Version={COMPOSE_VERSION}"  # as compose's own Makefile does
            result = _run([go, "build", "-trimpath", "-ldflags", version_flag, "-o", str(partial), "./cmd"],
                          cwd=source, timeout=3600,
                          env={**os.environ, "CGO_ENABLED": "0"})
            if result.returncode != 0:
                raise CheckError(f"go build of the Compose CLI failed: {_last_line(result.stderr)}")
            partial.replace(binary)
        if binary == BINARY:
            try:
                USER_CACHE.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(binary, USER_CACHE)
            except OSError:
                pass  # only a cache
        return time.monotonic() - started


def environment_file(directory: Path) -> Path:
    """infrastructure/.env.example with every required secret filled by a throwaway value."""
    lines = []
    for line in (INFRA / ".env.example").read_text().splitlines():
        name = line.split("=", 1)[0]
        if name in SECRETS:
            line = f"{name}={secrets.token_hex(32)}"
        elif name == "SITE_ADDRESS":
            line = "SITE_ADDRESS=rag.example.com"
        lines.append(line)
    path = directory / "compose-check.env"
    path.write_text("\n".join(lines) + "\n")
    return path


def merged(combination: str, env_file: Path, binary: Path = BINARY) -> dict:
    """The merged, interpolated project as `docker compose config` prints it (JSON)."""
    files = [BASE, *(INFRA / name for name in COMBINATIONS[combination])]
    command = [str(binary), "--project-directory", str(INFRA)]
    for path in files:
        command += ["-f", str(path)]
    command += ["--env-file", str(env_file), "config", "--format", "json"]
    # Only the env file decides: a variable exported in this shell must not hide a missing one.
    clean = {k: os.environ[k] for k in ("PATH", "HOME") if k in os.environ}
    result = _run(command, env=clean, timeout=120)
    if result.returncode != 0:
        raise CheckError(f"{combination}: docker compose config failed: {_last_line(result.stderr)}")
    return json.loads(result.stdout)


def verify(combination: str, project: dict) -> list[str]:
    """What production relies on, in the merged result; the problems found."""
    problems = []
    services = project["services"]
    own_image = services.get("app", {}).get("image")  # built from this repository (the app, the job worker)
    for name, service in services.items():
        image = service.get("image", "")
        if image != own_image and not EXACT_TAG.search(image.split("@")[0].rpartition(":")[2]):
            problems.append(f"{name}: image {image!r} is not an exact version (x.y.z or a MinIO RELEASE tag)")
    published = sorted(name for name, service in services.items() if service.get("ports"))
    expected = {"base": [], "base+dev": ["app", "milvus", "neo4j", "postgres"], "base+prod": ["proxy"]}[combination]
    if published != expected:
        problems.append(f"publishes {published}, expected {expected}")
    for name, service in services.items():
        environment = service.get("environment") or {}
        if environment.get("DJANGO_ENV") == "production":
            problems += [f"{name}: passes {variable}, which production refuses (local mode only)"
                         for variable in LOCAL_ONLY if variable in environment]
    if combination == "base+prod":
        proxy = services.get("proxy", {})
        if not any(str(p.get("target")) == "443" for p in proxy.get("ports", [])):
            problems.append("the TLS proxy does not publish 443")
        if services["app"]["environment"].get("DJANGO_ENV") != "production":
            problems.append("the app is not DJANGO_ENV=production")
    return problems


def check(binary: Path = BINARY) -> list[str]:
    report = []
    with tempfile.TemporaryDirectory() as directory:
        env_file = environment_file(Path(directory))
        for combination in COMBINATIONS:
            project = merged(combination, env_file, binary)
            problems = verify(combination, project)
            if problems:
                raise CheckError(f"{combination}: " + "; ".join(problems))
            report.append(f"{combination}: valid, {len(project['services'])} services")
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", action="store_true", help="only build (or find) the Compose CLI")
    args = parser.parse_args(argv)
    try:
        seconds = build()
        if seconds:
            print(f"compose-check: built Docker Compose {COMPOSE_VERSION} in {seconds:.0f} s -> {BINARY}")
        if not args.build:
            for line in check():
                print(f"compose-check: {line}")
    except CheckError as error:
        print(f"compose-check: {error}", file=sys.stderr)
        return 1
    except subprocess.TimeoutExpired as error:
        print(f"compose-check: {error.cmd[0]} took longer than {error.timeout:.0f} s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

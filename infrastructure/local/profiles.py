"""The two profiles of the local stack: `dev` (what `make run` uses) and `test` (what `make test` uses).

RAG_STACK=test selects the test profile: its own state directory (.stack/test/) and its own ports, so the
tests never read, write, stop or restart the stack that `make run` serves, and both can run at once.
The test profile sets every store variable itself, over whatever the environment (or .env, which
config/settings/ reads without overriding what is set) says. The launcher always starts and stops the
profile's own engines; only the command run through `exec` (pytest, in `make test`) may keep store
variables already set, with RAG_TEST_ALLOW_STORES=1, for people who point the tests at their own
disposable servers.

A plain module (no Django, no engine imports): the launcher, the Makefile (through `exec`) and the test
fixtures' guard all read the profile from here.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping, MutableMapping
from pathlib import Path
from urllib.parse import urlsplit

REPO_DIR = Path(__file__).resolve().parents[2]

PROFILE_VARIABLE = "RAG_STACK"
ALLOW_STORES_VARIABLE = "RAG_TEST_ALLOW_STORES"
PROFILES = ("dev", "test")

TEST_STACK_DIR = REPO_DIR / ".stack" / "test"
# Ports: the dev ones plus 10000 (etcd's plus 20000), all on loopback, below the ephemeral range. The
# credentials are the dev defaults' (config/env.py), which tests/reliability/test_secrets.py looks for in output.
TEST_PROFILE = {
    "STACK_DIR": str(TEST_STACK_DIR),
    "DATABASE_URL": "postgres://rag:rag-local-password@127.0.0.1:15432/rag",
    "MILVUS_URI": str(TEST_STACK_DIR / "milvus-lite" / "knowledge.db"),
    "MILVUS_TOKEN": "",
    "MILVUS_STANDALONE_URI": "http://127.0.0.1:29530",
    "MILVUS_ETCD_PORT": "22379",
    "MILVUS_ETCD_PEER_PORT": "22380",
    "NEO4J_URI": "bolt://127.0.0.1:17687",
    "NEO4J_USER": "neo4j",
    "NEO4J_PASSWORD": "neo4j-local-password",
    "NEO4J_DATABASE": "neo4j",
    # The tests start at once: a background warm-up would only compete with them for the CPU.
    "NEO4J_WARMUP_ROUNDS": "0",
}

# The port each store variable must name for the tests to accept it (MILVUS_URI: a server, or a Lite file).
_TEST_PORTS = {
    "DATABASE_URL": 15432,
    "MILVUS_STANDALONE_URI": 29530,
    "MILVUS_URI": 29530,
    "NEO4J_URI": 17687,
}


class ProfileError(ValueError):
    pass


def allow_other_stores(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get(ALLOW_STORES_VARIABLE, "").strip().lower() in ("1", "true", "yes", "on")


def profile_name(environ: Mapping[str, str] = os.environ) -> str:
    name = (environ.get(PROFILE_VARIABLE) or "dev").strip().lower()
    if name not in PROFILES:
        raise ProfileError(f"{PROFILE_VARIABLE}={name!r}: expected one of {', '.join(PROFILES)}")
    return name


def with_profile(environ: Mapping[str, str], name: str | None = None, keep_given: bool = False) -> dict[str, str]:
    """A copy of `environ` with the variables of the profile (RAG_STACK, or `name`); dev changes nothing.

    keep_given: variables already in `environ` win (the opt-in; see `command_environment`).
    """
    result = dict(environ)
    name = name or profile_name(environ)
    if name == "dev":
        return result
    result[PROFILE_VARIABLE] = name
    for key, value in TEST_PROFILE.items():
        if keep_given and key in environ:
            continue
        result[key] = value
    return result


def command_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment for the tests (`exec`): the profile's, or with RAG_TEST_ALLOW_STORES=1 yours first."""
    return with_profile(environ, keep_given=allow_other_stores(environ))


def apply(environ: MutableMapping[str, str] = os.environ) -> str:
    """Put the chosen profile's variables into `environ` (the launcher's own); return the profile's name."""
    name = profile_name(environ)
    updated = with_profile(environ, name)
    for key, value in updated.items():
        if environ.get(key) != value:
            environ[key] = value
    return name


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def foreign_stores(stores: Mapping[str, str]) -> list[str]:
    """Each store (variable -> URL, or a Milvus Lite path) that is not the test stack, as a short reason.

    Only host and port ever appear in a reason (a URL may hold a password).
    """
    problems = []
    for variable, value in stores.items():
        expected = _TEST_PORTS[variable]
        parts = urlsplit(value)
        if variable == "MILVUS_URI" and "://" not in value:  # a Milvus Lite file: inside .stack/test/
            path = Path(value).resolve()
            if not path.is_relative_to(TEST_STACK_DIR):
                problems.append(f"{variable} is the Milvus Lite file {path}, outside {TEST_STACK_DIR}")
            continue
        try:
            host, port = parts.hostname or "", parts.port
        except ValueError:
            host, port = parts.hostname or "", None
        if not _is_loopback(host) or port != expected:
            problems.append(f"{variable} points at {host or '?'}:{port or '?'}, not the test stack "
                            f"(127.0.0.1:{expected})")
    return problems


def refusal(problems: list[str]) -> str:
    """The one line the tests stop with when `foreign_stores` found something."""
    return (
        "Refusing to run the tests against stores that are not the test stack: " + "; ".join(problems) + ". "
        "Run them with `make test` (its own stack in .stack/test/, see docs/testing.md), or set "
        f"{ALLOW_STORES_VARIABLE}=1 to use your own disposable servers (the tests wipe their data)."
    )

"""The local stack: real PostgreSQL, Milvus (standalone and Lite) and Neo4j on loopback, without Docker.

    python -m infrastructure.local up [ENGINE ...]     start (idempotent) and wait until each answers
    python -m infrastructure.local up --app           only what the app's settings need (make run)
    python -m infrastructure.local down [ENGINE ...]   stop, leaving no process and no port behind
    python -m infrastructure.local status             each engine: up/down, version, address, pid
    python -m infrastructure.local exec COMMAND ...    run COMMAND with the profile's variables (make test)

RAG_STACK=test selects the test profile (.stack/test/, its own ports; see profiles.py): `make test` runs
`RAG_STACK=test python -m infrastructure.local up`, then pytest through `exec`, and never touches the dev stack.
"""

from __future__ import annotations

import argparse
import os
import sys
from concurrent.futures import ThreadPoolExecutor

from infrastructure.local import profiles
from infrastructure.local.common import ENVIRONMENT_GIVEN, PROFILE, STACK_DIR, StackError, setting
from infrastructure.local.milvus import MilvusLite, MilvusStandalone
from infrastructure.local.neo4j_engine import Neo4j
from infrastructure.local.postgres import Postgres

ENGINES = {engine.name: engine for engine in (Postgres, MilvusStandalone, MilvusLite, Neo4j)}


def engines_for_app() -> list[str]:
    """Postgres and Neo4j always; Milvus standalone only if MILVUS_URI points at the local server."""
    names = ["postgres", "neo4j"]
    uri = setting("MILVUS_URI")
    names.append("milvus" if uri.rstrip("/") == setting("MILVUS_STANDALONE_URI").rstrip("/") else "milvus-lite")
    return names


def _up(names: list[str]) -> int:
    # Start the slow ones side by side; each waits on its own real-protocol probe.
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        futures = {name: pool.submit(ENGINES[name]().up) for name in names}
    failed = 0
    for name, future in futures.items():
        try:
            print(future.result(), flush=True)
        except StackError as error:
            failed += 1
            print(f"ERROR {error}", file=sys.stderr, flush=True)
    return 1 if failed else 0


def _down(names: list[str]) -> int:
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        for message in pool.map(lambda name: ENGINES[name]().down(), names):
            print(message, flush=True)
    return 0


def _status(names: list[str]) -> int:
    rows = [ENGINES[name]().state() for name in names]
    print(f"{'engine':<12} {'state':<6} {'version':<34} {'address':<34} {'pid':<8} note")
    for row in rows:
        print(f"{row.name:<12} {'up' if row.running else 'down':<6} {row.version:<34} {row.address:<34} "
              f"{row.pid or '-':<8} {row.detail}")
    print(f"profile {PROFILE}; state, data and logs: {STACK_DIR}")
    return 0 if all(row.running for row in rows) else 3


def _exec(command: list[str]) -> int:
    """Replace this process with `command`, run with the profile's variables (the opt-in's, if given)."""
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        print("ERROR exec: give the command to run, e.g. `exec python -m pytest`", file=sys.stderr)
        return 2
    os.execvpe(command[0], command, profiles.command_environment(ENVIRONMENT_GIVEN))


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["exec"]:
        return _exec(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m infrastructure.local", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["up", "down", "status", "exec"])
    parser.add_argument("engines", nargs="*", choices=[[], *ENGINES], metavar="ENGINE",
                        help=f"any of {', '.join(ENGINES)} (default: all)")
    parser.add_argument("--app", action="store_true", help="only the engines the app's settings need")
    args = parser.parse_args(argv)
    names = engines_for_app() if args.app else (args.engines or list(ENGINES))
    try:
        return {"up": _up, "down": _down, "status": _status}[args.action](names)
    except StackError as error:
        print(f"ERROR {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

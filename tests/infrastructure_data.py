"""The compose files and the settings as data, for tests/test_infrastructure_files.py: each compose file parsed,
compose's merge and interpolation as far as these files need, and every variable the settings read."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

from config.env import LOCAL_DEFAULTS

REPO = Path(__file__).resolve().parent.parent
INFRA = REPO / "infrastructure"
INTERPOLATION = re.compile(r"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def compose(name: str) -> dict:
    return yaml.safe_load((INFRA / name).read_text())


COMPOSE_FILES = ("docker-compose.yml", "docker-compose.dev.yml", "docker-compose.prod.yml")
BASE, DEV, PROD = (compose(f) for f in COMPOSE_FILES)
COMPOSE_TEXT = {f: (INFRA / f).read_text() for f in COMPOSE_FILES}


def merge(base, override, key=None):
    """Compose's merge, as far as these files need: mappings merge, port/volume lists add up."""
    if isinstance(base, dict) and isinstance(override, dict):
        merged = dict(base)
        for k, value in override.items():
            merged[k] = merge(base[k], value, k) if k in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list) and key in ("ports", "expose", "volumes"):
        return base + override
    return override


def settings_variables() -> dict[str, object]:
    """Every environment variable the settings (config/settings/*.py) read, with its literal default (None if computed)."""
    found = {}
    nodes = [node for path in sorted((REPO / "config" / "settings").glob("*.py"))
             for node in ast.walk(ast.parse(path.read_text()))]
    for node in nodes:
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        owner = getattr(node.func.value, "id", None)
        if owner in ("cfg", "values") and node.args and getattr(node.args[0], "id", "") == "_read":
            args = node.args[1:]  # values.milvus_uri(_read, "NAME", default, ...)
        elif owner == "_read":
            args = node.args  # _read.int("NAME", default, ...)
        else:
            continue
        if not args or not isinstance(args[0], ast.Constant):
            continue
        default = args[1] if len(args) > 1 else None
        if isinstance(default, ast.Subscript) and getattr(default.value, "attr", "") == "LOCAL_DEFAULTS":
            found[args[0].value] = LOCAL_DEFAULTS[default.slice.value]
        else:
            try:
                found[args[0].value] = ast.literal_eval(default)
            except (ValueError, TypeError, SyntaxError):
                found[args[0].value] = None
    return found


SETTINGS = settings_variables()


def environment(service: dict) -> dict:
    return dict(service.get("environment") or {})  # these files use the mapping form only


def interpolated(value: str) -> str:
    """The value compose hands the container: defaults filled in, required variables as a placeholder."""
    return INTERPOLATION.sub(lambda m: m.group(3) if m.group(2) == ":-" else f"given-{m.group(1).lower()}", value)


def published(service: dict) -> list[tuple[str, ...]]:
    """(host ip, host port, container port) of each short-syntax port; a missing host ip shows as a short tuple."""
    return [tuple(str(spec).rsplit(":", 2)) for spec in service.get("ports", [])]

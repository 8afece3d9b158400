"""The import rules of docs/architecture.md, checked on the source: every `import` (at any depth) of every
module outside the tests. A new dependency between packages means changing the table below on purpose."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# package -> the project packages it may import (itself always). Lower layers first.
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "config": {"core"},  # settings and env parsing; config.urls is the one exception, below
    "rag_data": {"core"},
    "textmodels": {"core"},
    "vectorstore": {"core"},
    "graphstore": {"core"},
    "ingestion": {"core", "rag_data", "textmodels", "vectorstore", "graphstore"},
    "retrieval": {"core", "rag_data", "textmodels", "vectorstore", "graphstore"},
    "stores": {"core", "rag_data", "vectorstore", "graphstore"},
    # The job queue runs ingestion's work (and the drift check, imported when its periodic job runs).
    "jobs": {"core", "rag_data", "textmodels", "vectorstore", "graphstore", "ingestion", "stores", "drift"},
    # Reads the stores' health (and the drift app's latest report, looked up by name when that app is installed).
    "observability": {"core", "stores"},
    "apikeys": {"core"},
    # The HTTP API is the top of the request path: it calls the services and selectors of the apps below.
    "api": {"core", "rag_data", "apikeys", "retrieval", "jobs"},
    # Online drift check: reconcile's comparison (ingestion), read-only, and its reports.
    "drift": {"core", "rag_data", "vectorstore", "graphstore", "ingestion"},
}
# The URL map is the top of the project: it may name every app's views.
EXCEPTIONS = {"config/urls.py": set(ALLOWED)}
# Modules that must stay leaves inside their package: module -> the project modules it may import (nothing else
# of the project). The format readers turn bytes into text and know no store; settings know no app.
LEAF_MODULES: dict[str, set[str]] = {
    "ingestion/extracted.py": {"ingestion.chunking"},
    "ingestion/html_reader.py": {"ingestion.extracted"},
    "ingestion/pdf_reader.py": {"ingestion.extracted"},
    "ingestion/formats.py": {"ingestion.extracted", "ingestion.html_reader", "ingestion.pdf_reader"},
    "config/env.py": {"config.secret_rules"},
    "rag_data/locks.py": set(),  # PostgreSQL advisory locks: no model, no store
    "config/env_values.py": {"config.env", "core.uris"},
}
# The settings modules, in the order config/settings/__init__.py reads them: each may use only earlier ones.
SETTINGS_ORDER = ["base", "stores", "ingestion", "search", "jobs", "security", "log_config"]
# Only the Milvus package talks to pymilvus/grpc (through vectorstore/_pymilvus.py).
MILVUS_ONLY = {"pymilvus", "grpc"}


def _source_files():
    for package in ALLOWED:
        for path in sorted((REPO / package).rglob("*.py")):
            relative = path.relative_to(REPO)
            if "tests" not in relative.parts and "migrations" not in relative.parts:
                yield package, relative


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:  # `from config import env`: the module config.env
                submodule = f"{node.module}.{alias.name}"
                path = REPO / submodule.replace(".", "/")
                modules.add(submodule if path.with_suffix(".py").exists() or path.is_dir() else node.module)
    return modules


def _imported_roots(path: Path) -> set[str]:
    return {module.split(".")[0] for module in _imported_modules(path)}


@pytest.mark.parametrize(("package", "relative"), list(_source_files()), ids=lambda value: str(value))
def test_imports_follow_the_layers(package, relative):
    roots = _imported_roots(REPO / relative)
    allowed = ALLOWED[package] | {package} | EXCEPTIONS.get(relative.as_posix(), set())
    upward = sorted(root for root in roots & (set(ALLOWED) | {"bench", "tests", "infrastructure"})
                    if root not in allowed)
    assert not upward, f"{relative} imports {', '.join(upward)}: not allowed for {package} (docs/architecture.md)"
    if package != "vectorstore":
        assert not roots & MILVUS_ONLY, f"{relative} imports {', '.join(sorted(roots & MILVUS_ONLY))}; " \
                                        "only vectorstore may (through vectorstore/_pymilvus.py)"
    elif relative.name != "_pymilvus.py":
        assert not roots & MILVUS_ONLY, f"{relative} imports pymilvus/grpc directly; use vectorstore._pymilvus"


@pytest.mark.parametrize("relative", sorted(LEAF_MODULES))
def test_leaf_modules_import_only_what_they_are_allowed(relative):
    project = {module for module in _imported_modules(REPO / relative) if module.split(".")[0] in ALLOWED}
    extra = sorted(project - LEAF_MODULES[relative])
    assert not extra, f"{relative} imports {', '.join(extra)}; it may import only {sorted(LEAF_MODULES[relative])}"


def test_the_settings_modules_use_only_earlier_ones():
    assert sorted(path.stem for path in (REPO / "config" / "settings").glob("*.py") if path.stem != "__init__") == \
        sorted(SETTINGS_ORDER), "a new settings module is read in config/settings/__init__.py and listed here"
    for position, name in enumerate(SETTINGS_ORDER):
        used = {module.rsplit(".", 1)[1] for module in _imported_modules(REPO / "config" / "settings" / f"{name}.py")
                if module.startswith("config.settings.")}
        assert used <= set(SETTINGS_ORDER[:position]), f"config/settings/{name}.py uses a later module: {used}"


def test_the_admin_does_not_load_the_milvus_driver():
    """Reviewing feedback must not need grpc/pymilvus in the process (they are heavy and fork-unsafe)."""
    import subprocess
    import sys

    code = ("import os, sys; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
            "import django; django.setup(); import rag_data.admin, django.contrib.admin; "
            "loaded = [m for m in ('pymilvus', 'grpc') if m in sys.modules]; print(loaded); sys.exit(1 if loaded else 0)")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr

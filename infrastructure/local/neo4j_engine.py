"""Neo4j 5.26 community, embedded in a one-file Java launcher with a Bolt connector on loopback.

The jars come from Maven Central through a tiny pom (cached in Maven's local repository and under
.stack/neo4j/jars); the launcher sets the password of user `neo4j` from NEO4J_PASSWORD at every start.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess

from infrastructure.local.common import REPO_DIR, VENV_BIN, Engine, StackError, host_port, pid_alive, run, setting, spawn

SOURCE_DIR = REPO_DIR / "infrastructure" / "local" / "neo4j"
DEFAULT_WARMUP_ROUNDS = 3


def jvm_options(environ=os.environ) -> list[str]:
    """The JVM's options: a fixed heap (NEO4J_HEAP), the serial collector, then NEO4J_JVM_OPTIONS (later options
    win; a collector given there replaces the serial one). Serial with a fixed heap cost Neo4j 1.5-2.5 CPU-s less
    than G1 on an ingest of the Django docs tree, cold and warm, on 2 cores (BENCHMARKS.md, "Cold start")."""
    heap = environ.get("NEO4J_HEAP") or "1g"
    extra = shlex.split(environ.get("NEO4J_JVM_OPTIONS") or "")
    gc_given = any(re.fullmatch(r"-XX:\+Use\w*GC", option) for option in extra)
    return [f"-Xmx{heap}", f"-Xms{heap}", *([] if gc_given else ["-XX:+UseSerialGC"]), *extra]


def warmup_rounds(environ=os.environ) -> int:
    """NEO4J_WARMUP_ROUNDS: rounds of `manage.py graph_warmup` run in the background after a start (0: none)."""
    value = (environ.get("NEO4J_WARMUP_ROUNDS") or str(DEFAULT_WARMUP_ROUNDS)).strip()
    if not value.isdigit():
        raise StackError(f"neo4j: NEO4J_WARMUP_ROUNDS must be a whole number >= 0, got {value!r}")
    return int(value)


def _java_major(java: str) -> int:
    result = subprocess.run([java, "-version"], capture_output=True, text=True)
    match = re.search(r'version "(\d+)', result.stderr + result.stdout)
    return int(match.group(1)) if match else 0


class Neo4j(Engine):
    name = "neo4j"
    start_timeout = 120.0

    def address(self):
        return host_port(setting("NEO4J_URI"), 7687)

    def _tools(self) -> tuple[str, str]:
        java, mvn = shutil.which("java"), shutil.which("mvn")
        if (not java or not mvn) and os.geteuid() == 0 and shutil.which("apt-get"):
            print("neo4j: installing a JDK and Maven from Debian's packages ...", flush=True)
            run(["apt-get", "update", "-q"], "apt-get update")
            run(["apt-get", "install", "-y", "-q", "openjdk-17-jdk-headless", "maven"], "apt-get install java maven")
            java, mvn = shutil.which("java"), shutil.which("mvn")
        if not java or not mvn:
            raise StackError("neo4j: needs Java 17+ and Maven on PATH (e.g. apt-get install openjdk-17-jdk-headless maven)")
        if _java_major(java) < 17:
            raise StackError(f"neo4j: Java 17 or newer is required, found {_java_major(java)} at {java}")
        return java, mvn

    @property
    def jars(self):
        return self.home / "jars"

    def install(self) -> None:
        _, mvn = self._tools()
        stamp = self.jars / ".complete"
        pom = SOURCE_DIR / "pom.xml"
        if stamp.exists() and stamp.read_text() == pom.read_text():
            return
        print("neo4j: fetching Neo4j jars from Maven Central (first time only) ...", flush=True)
        shutil.rmtree(self.jars, ignore_errors=True)
        run([mvn, "-q", "-B", "-f", str(pom), "dependency:copy-dependencies",
             f"-DoutputDirectory={self.jars}", "-DincludeScope=runtime"], "neo4j: mvn dependency:copy-dependencies")
        stamp.write_text(pom.read_text())

    def launch(self) -> int:
        java, _ = self._tools()
        host, port = self.address()
        password = setting("NEO4J_PASSWORD")
        if len(password) < 8:
            raise StackError("neo4j: NEO4J_PASSWORD must be at least 8 characters (Neo4j's minimum)")
        return spawn(
            [java, *jvm_options(), "-cp", f"{self.jars}/*",
             str(SOURCE_DIR / "Launcher.java")],
            self.log_file,
            env={"NEO4J_HOME_DIR": str(self.home / "dbms"), "NEO4J_BOLT_HOST": host, "NEO4J_BOLT_PORT": str(port),
                 "NEO4J_PASSWORD": password},
        )

    def up(self) -> str:
        starting = not pid_alive(self.pid())
        message = super().up()
        rounds = warmup_rounds()
        if starting and rounds:
            log = self.home / "warmup.log"
            log.unlink(missing_ok=True)
            pid = spawn([str(VENV_BIN / "python"), str(REPO_DIR / "manage.py"), "graph_warmup", "--rounds",
                         str(rounds)], log, cwd=REPO_DIR)
            self.warmup_pid_file.write_text(str(pid))
            message += f"; warming up in the background ({rounds} rounds, log {log})"
        return message

    @property
    def warmup_pid_file(self):
        return self.home / "warmup.pid"

    def down(self, deadline: float = 30.0) -> str:
        """Stop a warm-up still running first (it deletes its namespace on SIGTERM), then Neo4j."""
        try:
            warmup = int(self.warmup_pid_file.read_text().strip())
        except (OSError, ValueError):
            warmup = None
        if pid_alive(warmup):
            self.terminate(warmup, 15.0)
        self.warmup_pid_file.unlink(missing_ok=True)
        return super().down(deadline)

    def probe(self) -> str:
        from neo4j import GraphDatabase

        with GraphDatabase.driver(setting("NEO4J_URI"), auth=(setting("NEO4J_USER"), setting("NEO4J_PASSWORD")),
                                  connection_timeout=3, max_transaction_retry_time=0) as driver:
            records, _, _ = driver.execute_query(
                "CALL dbms.components() YIELD versions, edition RETURN versions[0] AS version, edition")
        return f"Neo4j {records[0]['version']} {records[0]['edition']}"

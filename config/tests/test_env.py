"""Settings validation: every bad value stops start-up with one line naming the variable, never a secret."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import env as cfg
from config import env_values as values

REPO = Path(__file__).resolve().parents[2]


def reader(**values):
    return cfg.EnvReader(values)


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("EMBEDDING_DIM", "0", "EMBEDDING_DIM: must be at least 1"),
        ("EMBEDDING_DIM", "-3", "EMBEDDING_DIM: must be at least 1"),
        ("EMBEDDING_DIM", "big", "EMBEDDING_DIM: expected a whole number"),
        ("MILVUS_TIMEOUT", "nan", "MILVUS_TIMEOUT: expected a number"),
        ("DJANGO_DEBUG", "maybe", "DJANGO_DEBUG: expected true or false"),
    ],
)
def test_typed_values_name_the_variable(name, value, message):
    r = reader(**{name: value})
    with pytest.raises(cfg.ConfigError, match=message):
        if name == "DJANGO_DEBUG":
            r.bool(name, True)
        elif name == "MILVUS_TIMEOUT":
            r.float(name, 1.0)
        else:
            r.int(name, 384)


@pytest.mark.parametrize(
    "value, message",
    [
        ("ftp://host:19530", "unknown scheme 'ftp'"),
        ("http://:19530", "names no host"),
        ("http://localhost:notaport", "port that is not a number"),
        ("data/milvus", "must end in .db"),
        ("", "is empty"),
    ],
)
def test_malformed_milvus_uri(value, message, tmp_path):
    with pytest.raises(cfg.ConfigError, match=f"MILVUS_URI: .*{message}"):
        values.milvus_uri(reader(MILVUS_URI=value), "MILVUS_URI", "x.db", tmp_path)


def test_milvus_lite_path_is_made_absolute(tmp_path):
    assert values.milvus_uri(reader(MILVUS_URI="a/b.db"), "MILVUS_URI", "x.db", tmp_path) == str(tmp_path / "a/b.db")
    assert values.milvus_uri(reader(), "MILVUS_URI", "http://127.0.0.1:19530", tmp_path) == "http://127.0.0.1:19530"


@pytest.mark.parametrize(
    "value, message",
    [
        ("http://localhost:7687", "expected a bolt"),
        ("bolt://neo4j:secret-pw@localhost:7687", "must not hold credentials"),
        ("bolt://", "names no host"),
    ],
)
def test_malformed_neo4j_uri_never_echoes_a_password(value, message):
    with pytest.raises(cfg.ConfigError, match=f"NEO4J_URI: .*{message}") as caught:
        values.neo4j_uri(reader(NEO4J_URI=value), "NEO4J_URI", "bolt://x")
    assert "secret-pw" not in str(caught.value)


@pytest.mark.parametrize("value", ["mysql://u:p@h/db", "postgres://rag:hunter2@localhost:5432", "not a url"])
def test_malformed_database_url_never_echoes_the_password(value):
    with pytest.raises(cfg.ConfigError, match="DATABASE_URL: ") as caught:
        reader(DATABASE_URL=value).database("DATABASE_URL", "")
    assert "hunter2" not in str(caught.value)


def test_database_url_parses():
    config = reader(DATABASE_URL="postgres://rag:pw@db.example:6543/rag").database("DATABASE_URL", "")
    assert (config["HOST"], config["PORT"], config["NAME"], config["USER"]) == ("db.example", 6543, "rag", "rag")


def test_secrets_are_required_in_production_only():
    assert reader().secret("NEO4J_PASSWORD", "local", production=False) == "local"
    production = reader()
    production.secret("NEO4J_PASSWORD", "local", production=True)
    with pytest.raises(cfg.ConfigError, match="NEO4J_PASSWORD is required when DJANGO_ENV=production"):
        production.raise_problems()


def test_collection_name_is_checked():
    with pytest.raises(cfg.ConfigError, match="MILVUS_COLLECTION"):
        values.collection_name(reader(MILVUS_COLLECTION='bad"name'), "MILVUS_COLLECTION", "knowledge_chunks")


@pytest.mark.parametrize("value", ["", "a" * 65, "bad name", "ns/1", "naïve", "x'y"])
def test_namespace_must_be_a_short_identifier(value):
    if value == "":  # empty means "the default", which is checked the same way
        with pytest.raises(cfg.ConfigError, match="RAG_NAMESPACE: must be 1-64 characters"):
            values.namespace(reader(RAG_NAMESPACE=""), "RAG_NAMESPACE", "bad default!")
        return
    with pytest.raises(cfg.ConfigError, match="RAG_NAMESPACE: must be 1-64 characters, each a letter, digit, _ or -"):
        values.namespace(reader(RAG_NAMESPACE=value), "RAG_NAMESPACE", "knowledge_chunks")


def test_namespace_defaults_to_the_given_default_and_accepts_dashes():
    assert values.namespace(reader(), "RAG_NAMESPACE", "knowledge_chunks") == "knowledge_chunks"
    assert values.namespace(reader(RAG_NAMESPACE=" team-a_2 "), "RAG_NAMESPACE", "x") == "team-a_2"
    assert values.namespace(reader(RAG_NAMESPACE="a" * 64), "RAG_NAMESPACE", "x") == "a" * 64


def test_start_up_rejects_a_bad_namespace_in_one_line():
    result = _manage("check", RAG_NAMESPACE="two words")
    assert result.returncode == 2
    assert result.stderr.strip() == ("configuration error: RAG_NAMESPACE: must be 1-64 characters, "
                                     "each a letter, digit, _ or -")


def _manage(*args, **env):
    environment = {k: v for k, v in os.environ.items()
                   if not k.startswith(("DJANGO_", "MILVUS_", "NEO4J_", "API_TOKEN"))}
    environment.update(env)
    return subprocess.run([sys.executable, "-W", "ignore", "manage.py", *args], cwd=REPO, env=environment,
                          capture_output=True, text=True, timeout=60)


def test_start_up_stops_with_one_line_naming_the_variable():
    result = _manage("check", EMBEDDING_DIM="-1")
    assert result.returncode == 2
    assert result.stderr.strip() == "configuration error: EMBEDDING_DIM: must be at least 1, got -1"


def test_production_without_secrets_stops_start_up_without_leaking():
    result = _manage("check", DJANGO_ENV="production", NEO4J_PASSWORD="s3cret-value-123")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("configuration error: DJANGO_ENV=production: 2 secrets refused: "
                                            "DJANGO_SECRET_KEY is required when DJANGO_ENV=production")
    assert "s3cret-value-123" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "env, message",
    [
        ({"SEARCH_TIMEOUT": "5", "MILVUS_TIMEOUT": "5"},
         "MILVUS_TIMEOUT: must be below SEARCH_TIMEOUT (5s), got 5s"),
        ({"SEARCH_TIMEOUT": "5", "MILVUS_TIMEOUT": "2", "NEO4J_TIMEOUT": "8"}, "NEO4J_TIMEOUT: must be below SEARCH_TIMEOUT (5s), got 8s"),
        ({"SEARCH_WORKERS": "4", "SEARCH_MAX_ABANDONED": "4"}, "SEARCH_MAX_ABANDONED: must be below SEARCH_WORKERS (4)"),
    ],
)
def test_store_bounds_and_search_workers_that_cannot_work_stop_start_up(env, message):
    result = _manage("check", **env)
    assert result.returncode == 2
    assert result.stderr.strip().startswith(f"configuration error: {message}"), result.stderr


@pytest.mark.parametrize("value, expected", [("120/m", "120/m"), (" 10 / s ", "10/s"), ("5/10m", "5/10m"),
                                             ("", ""), ("1/d", "1/d")])
def test_api_rate_limit_accepts_django_ratelimit_rates(value, expected):
    assert values.rate(cfg.EnvReader({"API_RATE_LIMIT": value}), "API_RATE_LIMIT", "120/m") == expected


@pytest.mark.parametrize("value", ["120", "120/min", "0/m", "x/m", "5/0m", "-1/s"])
def test_api_rate_limit_rejects_other_forms(value):
    with pytest.raises(cfg.ConfigError, match="^API_RATE_LIMIT: expected a rate such as 120/m"):
        values.rate(cfg.EnvReader({"API_RATE_LIMIT": value}), "API_RATE_LIMIT", "120/m")


def test_the_rate_limit_cache_url_is_parsed_without_echoing_a_password():
    assert values.cache_url(cfg.EnvReader({}), "API_RATE_LIMIT_CACHE_URL") is None
    entry = values.cache_url(cfg.EnvReader({"C": "redis://:pw-secret-9@cache:6379/1"}), "C")
    assert entry["BACKEND"].endswith("RedisCache") and "cache:6379" in entry["LOCATION"]
    with pytest.raises(cfg.ConfigError) as error:
        values.cache_url(cfg.EnvReader({"C": "nosuch://:pw-secret-9@x"}), "C")
    assert "pw-secret-9" not in str(error.value)

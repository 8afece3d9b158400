"""Read and validate every setting from the environment, failing with one line that names the variable.

django-environ does the parsing; this module adds the checks it does not make (ranges, URL schemes,
secrets required in production) and turns every problem into a `ConfigError` that never carries the
value of a secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import environ

from core.uris import MILVUS_SERVER_SCHEMES, NEO4J_SCHEMES

MILVUS_INDEX_TYPES = ("HNSW", "IVF_FLAT", "FLAT", "AUTOINDEX")
MILVUS_METRIC_TYPES = ("COSINE", "L2", "IP")
COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
NAMESPACE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "psql", "sqlite")

# Local defaults, shared by config/settings.py and the local stack (infrastructure/local) so they always agree.
LOCAL_DEFAULTS = {
    "DATABASE_URL": "postgres://rag:rag-local-password@127.0.0.1:5432/rag",
    "MILVUS_URI": ".stack/milvus-lite/knowledge.db",
    "MILVUS_STANDALONE_URI": "http://127.0.0.1:19530",
    "NEO4J_URI": "bolt://127.0.0.1:7687",
    "NEO4J_USER": "neo4j",
    "NEO4J_PASSWORD": "neo4j-local-password",
}


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable, never a secret value."""

    def __init__(self, variable: str, problem: str):
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


@dataclass
class EnvReader:
    """Typed access to an environment mapping, every failure reported as a ConfigError."""

    environ_map: dict = field(repr=False)

    def raw(self, name: str, default: str) -> str:
        return self.environ_map.get(name, default)

    def str(self, name: str, default: str) -> str:
        return self.raw(name, default).strip()

    def bool(self, name: str, default: bool) -> bool:
        text = self.raw(name, "").strip().lower()
        if not text:
            return default
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise ConfigError(name, f"expected true or false, got {text!r}")

    def int(self, name: str, default: int, minimum: int = 1, maximum: int | None = None) -> int:
        text = self.raw(name, str(default)).strip()
        try:
            value = int(text)
        except ValueError:
            raise ConfigError(name, f"expected a whole number, got {text!r}") from None
        return _in_range(name, value, minimum, maximum)

    def float(self, name: str, default: float, minimum: float = 0.0, maximum: float | None = None) -> float:
        text = self.raw(name, str(default)).strip()
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(name, f"expected a number, got {text!r}") from None
        if value != value:  # NaN
            raise ConfigError(name, "expected a number, got NaN")
        return _in_range(name, value, minimum, maximum)

    def list(self, name: str, default: list[str]) -> list[str]:
        text = self.raw(name, "")
        if not text.strip():
            return list(default)
        return [item.strip() for item in text.split(",") if item.strip()]

    def choice(self, name: str, default: str, choices: tuple[str, ...]) -> str:
        value = self.str(name, default).upper()
        if value not in choices:
            raise ConfigError(name, f"expected one of {', '.join(choices)}, got {value!r}")
        return value

    def secret(self, name: str, local_default: str, production: bool) -> str:
        value = self.raw(name, "")
        if value:
            return value
        if production:
            raise ConfigError(name, "is required when DJANGO_ENV=production")
        return local_default

    def database(self, name: str, default: str) -> dict:
        url = self.raw(name, default).strip()
        scheme = urlsplit(url).scheme
        if scheme not in DATABASE_SCHEMES:
            raise ConfigError(name, f"expected a postgres:// URL, got scheme {scheme!r}")
        try:
            config = environ.Env.db_url_config(url)
        except Exception as error:  # django-environ raises several types; the value may hold a password
            raise ConfigError(name, f"malformed database URL ({type(error).__name__})") from None
        if scheme != "sqlite" and not config.get("NAME"):
            raise ConfigError(name, "the URL names no database (expected .../DBNAME)")
        return config


def _in_range(name, value, minimum, maximum):
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(name, f"must be at most {maximum}, got {value}")
    return value


def milvus_uri(reader: EnvReader, name: str, default: str, base_dir: Path) -> str:
    """A server URL (http://host:19530) or a file path ending in .db for Milvus Lite."""
    value = reader.str(name, default)
    if not value:
        raise ConfigError(name, "is empty; give a server URL or a path to a .db file for Milvus Lite")
    parts = urlsplit(value)
    if parts.scheme in MILVUS_SERVER_SCHEMES:
        try:
            port = parts.port
        except ValueError:
            raise ConfigError(name, "has a port that is not a number") from None
        if parts.scheme != "unix" and not parts.hostname:
            raise ConfigError(name, f"URL {parts.scheme}://... names no host")
        if port is not None and not 0 < port < 65536:
            raise ConfigError(name, "has a port out of range")
        return value
    if parts.scheme and len(parts.scheme) > 1:  # "C:" on Windows is a drive, not a scheme
        raise ConfigError(name, f"unknown scheme {parts.scheme!r}; use http://host:port or a .db path")
    if not value.endswith(".db"):
        raise ConfigError(name, "a Milvus Lite path must end in .db")
    path = Path(value)
    return str(path if path.is_absolute() else base_dir / path)


def neo4j_uri(reader: EnvReader, name: str, default: str) -> str:
    value = reader.str(name, default)
    parts = urlsplit(value)
    if parts.scheme not in NEO4J_SCHEMES:
        raise ConfigError(name, f"expected a {'/'.join(NEO4J_SCHEMES)} URL, got scheme {parts.scheme!r}")
    if parts.username or parts.password:
        raise ConfigError(name, "must not hold credentials; set NEO4J_USER and NEO4J_PASSWORD instead")
    try:
        parts.port
    except ValueError:
        raise ConfigError(name, "has a port that is not a number") from None
    if not parts.hostname:
        raise ConfigError(name, "names no host")
    return value


def http_url(reader: EnvReader, name: str, default: str, required: bool) -> str:
    value = reader.str(name, default)
    if not value:
        if required:
            raise ConfigError(name, "is required by the chosen backend (an http(s):// URL)")
        return ""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(name, "expected an http:// or https:// URL with a host")
    if parts.password:
        raise ConfigError(name, "must not hold credentials; use the matching *_API_KEY variable")
    return value.rstrip("/")


def collection_name(reader: EnvReader, name: str, default: str) -> str:
    value = reader.str(name, default)
    if not COLLECTION_NAME.match(value):
        raise ConfigError(name, "must start with a letter or _ and hold only letters, digits and _")
    return value


def namespace(reader: EnvReader, name: str, default: str) -> str:
    """The deployment's namespace: 1-64 letters, digits, _ or - (it scopes everything the deployment owns)."""
    value = reader.str(name, "") or default
    if not NAMESPACE.match(value):
        raise ConfigError(name, "must be 1-64 characters, each a letter, digit, _ or -")
    return value

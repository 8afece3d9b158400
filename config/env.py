"""Read and validate every setting from the environment, failing with one line that names the variable.

django-environ does the parsing; this module adds the checks it does not make (ranges, URL schemes,
secrets required in production) and turns every problem into a `ConfigError` that never carries the
value of a secret.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import environ

from config import secret_rules
from core.uris import MILVUS_SERVER_SCHEMES, NEO4J_SCHEMES

MILVUS_INDEX_TYPES = ("HNSW", "IVF_FLAT", "FLAT", "AUTOINDEX")
MILVUS_METRIC_TYPES = ("COSINE", "L2", "IP")
COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
NAMESPACE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "psql", "sqlite")

# Local defaults, shared by config/settings.py and the local stack (infrastructure/local) so they always agree.
LOCAL_DEFAULTS = {
    "DATABASE_URL": "postgres://rag:rag-local-password@127.0.0.1:5432/rag",
    # The Milvus server of the local stack (`make run` starts it); a path ending in .db selects Milvus Lite instead.
    "MILVUS_URI": "http://127.0.0.1:19530",
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


class SecretsRefused(ConfigError):
    """Production found secrets missing or weak: every one of them, in one error."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.variables = [name for name, _ in problems]
        super().__init__("DJANGO_ENV=production", secret_rules.summary(problems))


@dataclass
class EnvReader:
    """Typed access to an environment mapping, every failure reported as a ConfigError.

    Any variable NAME may instead be given as NAME_FILE, the path of a file holding the value (Docker and
    Kubernetes secrets); trailing newlines are dropped. Giving both is an error.
    """

    environ_map: dict = field(repr=False)
    secret_problems: list = field(default_factory=list, repr=False)

    def given(self, name: str) -> bool:
        return bool(self.environ_map.get(name) or self.environ_map.get(f"{name}_FILE"))

    def raw(self, name: str, default: str) -> str:
        value, path = self.environ_map.get(name), self.environ_map.get(f"{name}_FILE", "").strip()
        if not path:
            return self.environ_map.get(name, default)
        if value:
            raise ConfigError(name, f"set either {name} or {name}_FILE, not both")
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or type(error).__name__
            raise ConfigError(f"{name}_FILE", f"cannot read {path}: {reason}") from None
        return text.rstrip("\r\n")

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

    def secret(self, name: str, local_default: str, production: bool, required: bool = True) -> str:
        """A secret; in production a missing (if required) or weak one is recorded for `raise_problems`."""
        value = self.raw(name, "")
        if not production:
            return value or local_default
        if not value:
            if required:
                self.secret_problems.append((name, secret_rules.missing(name)))
            return ""
        self.check_secret(name, value)
        return value

    def local_secret(self, name: str, production: bool) -> str:
        """A secret of local mode only (empty by default); in production, giving it is recorded for `raise_problems`."""
        value = self.raw(name, "")
        if production and value:
            self.secret_problems.append((name, secret_rules.local_only(name)))
            return ""
        return value

    def check_secret(self, name: str, value: str) -> None:
        problem = secret_rules.weakness(name, value)
        if problem:
            self.secret_problems.append((name, problem))

    def raise_problems(self) -> None:
        """Raise one SecretsRefused naming every secret problem recorded so far (nothing if none)."""
        if self.secret_problems:
            raise SecretsRefused(list(self.secret_problems))

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


def check_database_secret(reader: EnvReader, config: dict, production: bool) -> None:
    """Production: DATABASE_URL must be given, and its password (if any: none means certificate or peer
    authentication) must be strong."""
    if not production:
        return
    if not reader.given("DATABASE_URL"):
        reader.secret_problems.append(("DATABASE_URL", secret_rules.missing("DATABASE_URL")))
    elif config.get("PASSWORD"):
        reader.check_secret("DATABASE_URL's password", config["PASSWORD"])


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


def cron(reader: EnvReader, name: str, default: str) -> str:
    """A cron schedule (5 fields, or 6 with seconds last, as procrastinate's periodic tasks take them)."""
    from croniter import croniter

    value = " ".join(reader.str(name, default).split())
    if len(value.split()) not in (5, 6) or not croniter.is_valid(value):
        raise ConfigError(name, f"expected a cron schedule such as '*/5 * * * *', got {value!r}")
    return value


def namespace(reader: EnvReader, name: str, default: str) -> str:
    """The deployment's namespace: 1-64 letters, digits, _ or - (it scopes everything the deployment owns)."""
    value = reader.str(name, "") or default
    if not NAMESPACE.match(value):
        raise ConfigError(name, "must be 1-64 characters, each a letter, digit, _ or -")
    return value


def origins(reader: EnvReader, name: str) -> list[str]:
    """Comma-separated origins (scheme://host[:port], the host may start with *.), as CSRF_TRUSTED_ORIGINS wants."""
    values = reader.list(name, [])
    for value in values:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
            raise ConfigError(name, f"expected origins like https://rag.example.com, got {value!r}")
    return [value.rstrip("/") for value in values]


def directory(reader: EnvReader, name: str, default: str, base_dir: Path) -> Path:
    """A directory path; a relative one is taken from the project directory."""
    value = reader.str(name, default)
    if not value:
        raise ConfigError(name, "is empty; give a directory path")
    path = Path(value)
    return path if path.is_absolute() else base_dir / path


def ip_networks(reader: EnvReader, name: str, default: list[str]) -> list:
    """A comma-separated list of IP addresses or networks (CIDR), as ipaddress network objects."""
    networks = []
    for item in reader.list(name, default):
        try:
            networks.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(name, f"expected IP addresses or networks (CIDR), got {item!r}") from None
    return networks


RATE = re.compile(r"^(?P<count>[0-9]+)/(?P<period>[0-9]*)(?P<unit>[smhd])$")


def rate(reader: EnvReader, name: str, default: str) -> str:
    """A request rate as django-ratelimit reads it: N/s, N/m, N/h, N/d (or N/10m, ...); empty = no limit."""
    value = reader.str(name, default).replace(" ", "")
    if not value:
        return ""
    match = RATE.match(value)
    if match is None or int(match["count"]) < 1 or (match["period"] and int(match["period"]) < 1):
        raise ConfigError(name, f"expected a rate such as 120/m (N per s, m, h or d), or empty for none, got {value!r}")
    return value


def cache_url(reader: EnvReader, name: str) -> dict | None:
    """A Django CACHES entry from a cache URL (redis://, pymemcache://, ...), or None when unset."""
    value = reader.str(name, "")
    if not value:
        return None
    try:
        return environ.Env.cache_url_config(value)
    except Exception as error:  # django-environ raises several types; the URL may hold a password
        raise ConfigError(name, f"malformed cache URL ({type(error).__name__})") from None

"""Read and validate every setting from the environment, failing with one line that names the variable.

django-environ does the parsing; this module adds the checks it does not make (ranges, secrets required in
production) and turns every problem into a `ConfigError` that never carries the value of a secret. The
readers of one kind of value (store URIs, names, cron schedules, rates, ...) are in config/env_values.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import environ

from config import secret_rules

DATABASE_SCHEMES = ("postgres", "postgresql", "pgsql", "psql", "sqlite")

# Local defaults, shared by config/settings/ and the local stack (infrastructure/local) so they always agree.
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
        return self._number(name, default, int, "a whole number", minimum, maximum)

    def float(self, name: str, default: float, minimum: float = 0.0, maximum: float | None = None) -> float:
        return self._number(name, default, float, "a number", minimum, maximum)

    def _number(self, name: str, default, parse, expected: str, minimum, maximum):
        text = self.raw(name, str(default)).strip()
        try:
            value = parse(text)
        except ValueError:
            raise ConfigError(name, f"expected {expected}, got {text!r}") from None
        if value != value:  # NaN
            raise ConfigError(name, f"expected {expected}, got NaN")
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

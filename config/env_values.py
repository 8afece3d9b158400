"""Readers of one kind of value each (store URIs, names, cron schedules, origins, networks, rates, cache URLs).

Each takes the `config.env.EnvReader`, the variable's name and its default, and returns the value checked,
or raises `ConfigError` naming the variable (never a secret's value).
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from urllib.parse import urlsplit

import environ

from config.env import ConfigError, EnvReader
from core.uris import MILVUS_SERVER_SCHEMES, NEO4J_SCHEMES

MILVUS_INDEX_TYPES = ("HNSW", "IVF_FLAT", "FLAT", "AUTOINDEX")
MILVUS_METRIC_TYPES = ("COSINE", "L2", "IP")
COLLECTION_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
NAMESPACE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


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

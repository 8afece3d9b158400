"""What production refuses as a secret: missing, a published local default, or too weak to guess-proof.

`config.env.EnvReader` records every problem found here instead of raising at the first, so that one start
lists them all (`EnvReader.raise_problems`). No message ever holds the value of a secret.
"""

from __future__ import annotations

# Values that are public (this repository, Django's project template, the engines' documentation): in
# production they are as good as no password at all. Compared case-insensitively.
PUBLIC_DEFAULTS = frozenset(value.lower() for value in (
    "rag-local-password", "neo4j-local-password", "local-only-insecure-key-not-for-production",
    "neo4j", "minioadmin", "milvus", "root:milvus", "postgres", "rag", "password", "changeme", "secret",
))
# Prefixes of generated-but-public keys (`django-admin startproject` writes django-insecure-...).
PUBLIC_PREFIXES = ("django-insecure-",)
# Shortest acceptable length per secret (DJANGO_SECRET_KEY: Django's own security.W009 rule).
MIN_LENGTH = {"DJANGO_SECRET_KEY": 50}
DEFAULT_MIN_LENGTH = 12
MIN_DISTINCT_CHARACTERS = 5
HOW_TO_GENERATE = "generate each with `openssl rand -hex 32`"
# Secrets of local mode only: production refuses them when given (each API client gets a key of its own there).
LOCAL_ONLY = frozenset({"API_TOKEN"})
CREATE_KEYS = "python manage.py api_key create NAME --scopes search,feedback,documents"


def weakness(name: str, value: str) -> str | None:
    """Why `value` is not acceptable as the production secret `name`, or None when it is."""
    lowered = value.strip().lower()
    if lowered in PUBLIC_DEFAULTS or lowered.startswith(PUBLIC_PREFIXES):
        return "is a published default (anyone can read it in the source or the docs)"
    minimum = MIN_LENGTH.get(name, DEFAULT_MIN_LENGTH)
    if len(value) < minimum:
        return f"is too short ({len(value)} characters, at least {minimum})"
    if len(set(value)) < MIN_DISTINCT_CHARACTERS:
        return f"is too weak (fewer than {MIN_DISTINCT_CHARACTERS} different characters)"
    return None


def missing(name: str) -> str:
    return f"is required when DJANGO_ENV=production (set {name} or {name}_FILE)"


def local_only(name: str) -> str:
    return (f"is a bootstrap key for local use only: unset {name} (and {name}_FILE) and give each client "
            f"a key of its own with `{CREATE_KEYS}`")


def summary(problems: list[tuple[str, str]]) -> str:
    """One line naming every refused secret, in the order they were read."""
    listed = "; ".join(f"{name} {problem}" for name, problem in problems)
    count = "1 secret" if len(problems) == 1 else f"{len(problems)} secrets"
    if all(name in LOCAL_ONLY for name, _ in problems):
        return f"{count} refused: {listed}"
    return f"{count} refused: {listed}; {HOW_TO_GENERATE}"

"""The embedder is part of the data: a collection records the identity of the embedder that built its
vectors ({embedder, model, dim}) in its collection properties (`rag.embedder`, `rag.embedder_model`,
`rag.embedding_dim`) AND in its description (`rag.identity=<the same as JSON>`): servers (2.3.5, 2.5) keep
both, Milvus Lite 3.2 only the properties, Milvus Lite 2.5 (the pinned one) only the description (it has no
properties at all). Reads take the properties, else the description.
"""

from __future__ import annotations

import json

from core import embedder_catalog as catalog
from core.embedder_catalog import configured_identity

IDENTITY_PROPERTIES = {"embedder": "rag.embedder", "model": "rag.embedder_model", "dim": "rag.embedding_dim"}


def expected_identity() -> dict:
    """{embedder, model, dim} of the configured embedder (no model is loaded)."""
    return configured_identity()


def identity_properties(identity: dict) -> dict[str, str]:
    """Collection properties (strings only, as Milvus stores them) recording an embedder identity."""
    return {key: str(identity[field]) for field, key in IDENTITY_PROPERTIES.items()}


IDENTITY_DESCRIPTION = "rag.identity="


def identity_description(identity: dict) -> str:
    """The collection description recording an identity (for engines without properties: Milvus Lite 2.5)."""
    return IDENTITY_DESCRIPTION + json.dumps(identity_properties(identity), sort_keys=True)


def _described_properties(described: dict) -> dict:
    properties = (described or {}).get("properties") or {}
    if IDENTITY_PROPERTIES["embedder"] in properties:
        return properties
    description = str((described or {}).get("description") or "")
    if description.startswith(IDENTITY_DESCRIPTION):
        try:
            recorded = json.loads(description[len(IDENTITY_DESCRIPTION):])
        except ValueError:
            return {}
        return recorded if isinstance(recorded, dict) else {}
    return {}


def recorded_identity(described: dict) -> dict | None:
    """The identity a describe_collection answer records (properties, else description), or None."""
    properties = _described_properties(described)
    if IDENTITY_PROPERTIES["embedder"] not in properties:
        return None
    identity = {field: properties.get(key, "") for field, key in IDENTITY_PROPERTIES.items()}
    try:
        identity["dim"] = int(identity["dim"])
    except (TypeError, ValueError):
        pass
    return identity


def describe_identity(identity: dict) -> str:
    """`EMBEDDER=wordllama (model l2_supercat, 256 dims)`: how a user would configure it."""
    return f"EMBEDDER={identity['embedder']} (model {identity['model']}, {identity['dim']} dims)"


def identity_problem(collection: str, recorded: dict | None, expected: dict, rows: int | None = None) -> str | None:
    """One line saying why this process must not search or write the collection, or None when it may."""
    if recorded is None:
        held = f"holds {rows} vectors but " if rows else ""
        return (f"collection {collection!r} {held}records no embedder (built before identities were recorded); "
                f"rebuild it with `manage.py reembed`, or record {describe_identity(expected)} on it with "
                f"`manage.py reembed --adopt` if that is the embedder that built it")
    if {k: str(v) for k, v in recorded.items()} != {k: str(v) for k, v in expected.items()}:
        return (f"collection {collection!r} was built by {describe_identity(recorded)} but this process uses "
                f"{describe_identity(expected)}; run `manage.py reembed` to rebuild it with the configured embedder"
                f"{_way_back(recorded, expected)}")
    return None


def _way_back(recorded: dict, expected: dict) -> str:
    """The other way out of a mismatch: configure what built the collection, when this release can still run it."""
    if recorded["embedder"] != expected["embedder"]:
        return f", or set EMBEDDER={recorded['embedder']} again"
    if recorded["embedder"] in catalog.FIXED_DIMS:  # ships one model: the recorded one is another release's
        return f" (this release's EMBEDDER={expected['embedder']} makes only model {expected['model']})"
    dim = f" and EMBEDDING_DIM={recorded['dim']}" if str(recorded["dim"]) != str(expected["dim"]) else ""
    return f", or set EMBEDDER_MODEL={recorded['model']}{dim} again"

"""Pure rules of the graph: which labels and types exist, which constraints we expect, input validation.

Cypher cannot take a label, a relationship type or a constraint name as a parameter, so any of them that
ends up in query text must pass through the whitelist here first. Nothing in this module talks to Neo4j.

Every node carries the deployment's `namespace` (settings.RAG_NAMESPACE); identities are unique per
namespace: (namespace, document_id) for Document, (namespace, name) for Concept (docs/graph.md).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Iterable, Mapping

from graphstore.nodes import CONCEPT, DOCUMENT, MENTIONS, RELATED_TO

LABELS = frozenset({CONCEPT, DOCUMENT})
RELATIONSHIP_TYPES = frozenset({MENTIONS, RELATED_TO})
MAX_NAME_LENGTH = 1000  # well inside Neo4j's index key size limit, so a long name fails here, clearly
MAX_HOPS = 3
MAX_LIMIT = 1000
# SHOW CONSTRAINTS reports a node uniqueness constraint as UNIQUENESS (5.x) or NODE_PROPERTY_UNIQUENESS (newer);
# a node key implies uniqueness too.
UNIQUE_CONSTRAINT_TYPES = frozenset({"UNIQUENESS", "NODE_PROPERTY_UNIQUENESS", "NODE_KEY"})
NAMESPACE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # the same rule as config.env.namespace
# Written on every Document node by the current write path; a node with a lower (or no) format was written
# before edges carried their contributing documents, and reconcile rewrites it from PostgreSQL.
GRAPH_FORMAT = 2


def checked_namespace(value) -> str:
    if not isinstance(value, str) or not NAMESPACE.match(value):
        raise ValueError(f"namespace must be 1-64 letters, digits, _ or -, got {value!r}")
    return value


def checked_label(label: str) -> str:
    if label not in LABELS:
        raise ValueError(f"unknown node label {label!r}; expected one of {', '.join(sorted(LABELS))}")
    return label


def checked_relationship_type(rel_type: str) -> str:
    if rel_type not in RELATIONSHIP_TYPES:
        raise ValueError(
            f"unknown relationship type {rel_type!r}; expected one of {', '.join(sorted(RELATIONSHIP_TYPES))}"
        )
    return rel_type


@dataclass(frozen=True)
class UniqueConstraint:
    """A node uniqueness constraint over one or more properties (composite ones work in community edition;
    node KEY constraints do not)."""

    label: str
    properties: tuple[str, ...]

    @property
    def name(self) -> str:
        # For one property, the name neomodel's install_labels gives the same constraint.
        return f"constraint_unique_{self.label}_{'_'.join(self.properties)}"

    def create_cypher(self) -> str:
        label = checked_label(self.label)
        for prop in self.properties:
            if not prop.isidentifier():
                raise ValueError(f"bad property name {prop!r}")
        if len(self.properties) == 1:
            target = f"n.`{self.properties[0]}`"
        else:
            target = "(" + ", ".join(f"n.`{prop}`" for prop in self.properties) + ")"
        return f"CREATE CONSTRAINT `{self.name}` IF NOT EXISTS FOR (n:`{label}`) REQUIRE {target} IS UNIQUE"

    def matches(self, row: Mapping) -> bool:
        """True if a SHOW CONSTRAINTS row enforces exactly this uniqueness, whatever it is called."""
        return (
            row.get("type") in UNIQUE_CONSTRAINT_TYPES
            and row.get("entityType", "NODE") == "NODE"
            and list(row.get("labelsOrTypes") or []) == [self.label]
            and list(row.get("properties") or []) == list(self.properties)
        )


EXPECTED_CONSTRAINTS = (
    UniqueConstraint(CONCEPT, ("namespace", "name")),
    UniqueConstraint(DOCUMENT, ("namespace", "document_id")),
)
# Before namespaces: a concept name or document id could exist once per server. They must go (a second
# deployment could not hold a concept the first one has); install_constraints drops them, by shape.
LEGACY_CONSTRAINTS = (
    UniqueConstraint(CONCEPT, ("name",)),
    UniqueConstraint(DOCUMENT, ("document_id",)),
)


def present_constraints(rows: Iterable[Mapping]) -> list[str]:
    """Names of the expected constraints that the SHOW CONSTRAINTS rows enforce."""
    rows = list(rows)
    return [c.name for c in EXPECTED_CONSTRAINTS if any(c.matches(row) for row in rows)]


def legacy_constraint_rows(rows: Iterable[Mapping]) -> list[Mapping]:
    """The SHOW CONSTRAINTS rows that enforce a pre-namespace (single-property) uniqueness."""
    return [row for row in rows if any(c.matches(row) for c in LEGACY_CONSTRAINTS)]


def quoted_name(name: str) -> str:
    """A constraint name (read from the server's own listing) as a Cypher identifier."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"bad constraint name {name!r}")
    return "`" + name.replace("`", "``") + "`"


def checked_name(value, what: str = "concept name") -> str:
    """A non-blank string, kept verbatim (no trimming or case folding: the name is the identity)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    if len(value) > MAX_NAME_LENGTH:
        raise ValueError(f"{what} is longer than {MAX_NAME_LENGTH} characters")
    return value


def checked_names(values: Iterable, what: str = "concept name") -> list[str]:
    if isinstance(values, (str, bytes)):
        raise ValueError(f"expected a list of {what}s, got a single string")
    return list(dict.fromkeys(checked_name(v, what) for v in values))


def mention_rows(concepts: Mapping[str, int]) -> list[dict]:
    """{name: count} -> UNWIND rows; counts are whole numbers >= 1."""
    rows = []
    for name, count in concepts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"mention count for {name!r} must be a whole number >= 1, got {count!r}")
        rows.append({"name": checked_name(name), "count": count})
    return rows


def relation_rows(pairs: Iterable[tuple[str, str, float]]) -> list[dict]:
    """(a, b, weight) -> UNWIND rows with a < b, so each undirected pair has one stored direction.

    These are one document's contributions. A pair given twice (in either order) keeps the last weight:
    a document's contribution to an edge is set, never added, which keeps replays idempotent.
    """
    merged: dict[tuple[str, str], float] = {}
    for pair in pairs:
        try:
            a, b, weight = pair
        except (TypeError, ValueError):
            raise ValueError(f"expected (concept_a, concept_b, weight), got {pair!r}") from None
        a, b = checked_name(a), checked_name(b)
        if a == b:
            raise ValueError(f"a concept cannot be related to itself: {a!r}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight):
            raise ValueError(f"weight for ({a!r}, {b!r}) must be a finite number, got {weight!r}")
        merged[(a, b) if a < b else (b, a)] = float(weight)
    return [{"a": a, "b": b, "weight": w} for (a, b), w in merged.items()]


def contribution_rows(concepts: Iterable[str], pairs: Iterable[tuple[str, str, float]]) -> list[dict]:
    """relation_rows for one document, whose pairs may only join concepts it mentions (`concepts`): the rule
    that lets a document's contributions be found, and withdrawn, through its own MENTIONS."""
    mentioned = set(concepts)
    rows = relation_rows(pairs)
    for row in rows:
        for name in (row["a"], row["b"]):
            if name not in mentioned:
                raise ValueError(f"the document relates {name!r} but does not mention it")
        if row["weight"] <= 0:
            raise ValueError(f"weight for ({row['a']!r}, {row['b']!r}) must be > 0, got {row['weight']!r}")
    return rows


def checked_hops(hops) -> int:
    if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
        raise ValueError(f"hops must be a whole number from 1 to {MAX_HOPS}, got {hops!r}")
    return hops


def checked_limit(limit) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be a whole number from 1 to {MAX_LIMIT}, got {limit!r}")
    return limit

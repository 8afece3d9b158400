"""Writes to the knowledge graph.

Every write is a MERGE/SET (never CREATE or +=) inside a managed transaction: the driver retries, and may
replay a transaction whose commit it could not confirm, so running any of these twice must leave the
graph as running it once. Batches go in one round trip with UNWIND.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from graphstore import client, selectors
from graphstore.schema import (
    EXPECTED_CONSTRAINTS,
    checked_name,
    mention_rows,
    present_constraints,
    relation_rows,
)


def install_constraints() -> dict:
    """Create the expected uniqueness constraints that are missing; report {"created": [...], "existing": [...]}.

    A constraint counts as existing when any constraint enforces the same uniqueness, whatever its name
    (CREATE ... IF NOT EXISTS is a no-op for an equivalent constraint too).
    """
    before = set(present_constraints(selectors.constraint_rows()))
    for constraint in EXPECTED_CONSTRAINTS:
        if constraint.name not in before:
            client.write(constraint.create_cypher())
    after = set(present_constraints(selectors.constraint_rows()))
    names = [c.name for c in EXPECTED_CONSTRAINTS]
    return {
        "created": [n for n in names if n in after and n not in before],
        "existing": [n for n in names if n in before],
    }


_UPSERT_DOCUMENT = """
MERGE (d:Document {document_id: $document_id})
  ON CREATE SET d.created = datetime()
SET d.title = $title, d.source = $source, d.content_hash = $content_hash, d.updated = datetime()
"""


def upsert_document(document_id: str, title: str | None, source: str | None, content_hash: str | None) -> bool:
    """Create or update a Document node; returns True if it was created."""
    result = client.write(
        _UPSERT_DOCUMENT,
        document_id=checked_name(document_id, "document_id"),
        title=title,
        source=source,
        content_hash=content_hash,
    )
    return result.summary.counters.nodes_created > 0


_LINK_CONCEPTS = """
MATCH (d:Document {document_id: $document_id})
OPTIONAL MATCH (d)-[stale:MENTIONS]->(old:Concept)
  WHERE $replace AND NOT old.name IN $names
DELETE stale
WITH DISTINCT d
UNWIND $rows AS row
MERGE (c:Concept {name: row.name})
  ON CREATE SET c.created = datetime()
SET c.updated = datetime()
MERGE (d)-[m:MENTIONS]->(c)
SET m.count = row.count
RETURN count(m) AS linked
"""


def link_document_concepts(document_id: str, concepts: Mapping[str, int], *, replace: bool = False) -> int:
    """Set Document -MENTIONS{count}-> Concept for each {name: count}, creating missing concepts.

    Counts are set, not added. With replace=True the document's mentions of concepts not in `concepts`
    are removed (the concepts themselves stay). Returns the number of mentions written; raises
    LookupError if the document does not exist.
    """
    document_id = checked_name(document_id, "document_id")
    rows = mention_rows(concepts)
    if not rows and not replace:
        _require_document(document_id)
        return 0
    record = client.write(
        _LINK_CONCEPTS,
        document_id=document_id,
        rows=rows,
        names=[row["name"] for row in rows],
        replace=bool(replace),
    ).records[0]
    if record["linked"] == 0:
        _require_document(document_id)
    return record["linked"]


def _require_document(document_id: str) -> None:
    if not selectors.document_exists(document_id):
        raise LookupError(f"no Document with document_id {document_id!r}")


_RELATE_CONCEPTS = """
UNWIND $rows AS row
MERGE (a:Concept {name: row.a})
  ON CREATE SET a.created = datetime()
MERGE (b:Concept {name: row.b})
  ON CREATE SET b.created = datetime()
MERGE (a)-[r:RELATED_TO]-(b)
SET r.weight = row.weight
RETURN count(r) AS related
"""


def relate_concepts(pairs: Iterable[tuple[str, str, float]]) -> int:
    """Set Concept -RELATED_TO{weight}- Concept for each (a, b, weight), creating missing concepts.

    Undirected: (a, b) and (b, a) are the same relationship, stored once from the smaller name to the
    larger (and an existing edge in either direction is reused). The weight is SET to the given value,
    not accumulated, so a replayed transaction cannot double it; callers that want accumulation pass the
    new total. Returns the number of relationships written.
    """
    rows = relation_rows(pairs)
    if not rows:
        return 0
    return client.write(_RELATE_CONCEPTS, rows=rows).records[0]["related"]


_DETACH_DOCUMENT = """
MATCH (d:Document {document_id: $document_id})
OPTIONAL MATCH (d)-[:MENTIONS]->(c:Concept)
WITH d, collect(c.name) AS names
DETACH DELETE d
RETURN names
"""

_DELETE_ORPHANS = """
UNWIND $names AS name
MATCH (c:Concept {name: name})
WHERE NOT EXISTS { MATCH (c)<-[:MENTIONS]-(:Document) }
DETACH DELETE c
RETURN count(*) AS removed
"""


def _delete_document_tx(tx, document_id: str) -> dict:
    record = tx.run(_DETACH_DOCUMENT, document_id=document_id).single()
    if record is None:
        return {"deleted": False, "concepts_removed": 0}
    removed = tx.run(_DELETE_ORPHANS, names=record["names"]).single()["removed"]
    return {"deleted": True, "concepts_removed": removed}


def delete_document(document_id: str) -> dict:
    """Delete a Document and the concepts it mentioned that no other document mentions.

    Concepts that were never mentioned by this document are left alone. Returns
    {"deleted": bool, "concepts_removed": int}.
    """
    return client.execute_write(_delete_document_tx, checked_name(document_id, "document_id"))


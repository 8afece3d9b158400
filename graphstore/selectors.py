"""Reads from the knowledge graph, each one managed read transaction (retried by the driver)."""

from __future__ import annotations

from typing import Iterable

from graphstore import client
from graphstore.schema import (
    EXPECTED_CONSTRAINTS,
    checked_hops,
    checked_limit,
    checked_name,
    checked_names,
    present_constraints,
)


def constraint_rows() -> list[dict]:
    result = client.read("SHOW CONSTRAINTS YIELD name, type, entityType, labelsOrTypes, properties")
    return [record.data() for record in result.records]


def constraint_status() -> dict:
    """{"present": [...], "missing": [...], "ok": bool} for the constraints the app expects."""
    present = set(present_constraints(constraint_rows()))
    names = [c.name for c in EXPECTED_CONSTRAINTS]
    missing = [n for n in names if n not in present]
    return {"present": [n for n in names if n in present], "missing": missing, "ok": not missing}


def document_exists(document_id: str) -> bool:
    result = client.read(
        "MATCH (d:Document {document_id: $document_id}) RETURN count(d) > 0 AS found",
        document_id=checked_name(document_id, "document_id"),
    )
    return result.records[0]["found"]


def document_ids() -> list[str]:
    result = client.read("MATCH (d:Document) RETURN d.document_id AS document_id ORDER BY document_id")
    return [record["document_id"] for record in result.records]


def documents_for_concepts(names: Iterable[str], limit: int = 100) -> list[dict]:
    """Documents mentioning any of `names`, best first; score = total mention count of those concepts."""
    names = checked_names(names)
    if not names:
        return []
    result = client.read(
        """
        MATCH (d:Document)-[m:MENTIONS]->(c:Concept)
        WHERE c.name IN $names
        WITH d, sum(m.count) AS score, collect(c.name) AS concepts
        RETURN d.document_id AS document_id, d.title AS title, d.source AS source, score, concepts
        ORDER BY score DESC, document_id
        LIMIT $limit
        """,
        names=names,
        limit=checked_limit(limit),
    )
    return [record.data() for record in result.records]


RELATED_DOCUMENTS_CYPHER = """
    MATCH (start:Document)-[:MENTIONS]->(c0:Concept)
    WHERE start.document_id IN $ids
    WITH DISTINCT c0
    MATCH p = (c0)-[:RELATED_TO*0..{hops:d}]-(c:Concept)
    WITH c, min(length(p)) AS distance
    MATCH (d:Document)-[m:MENTIONS]->(c)
    WHERE NOT d.document_id IN $ids
    WITH d, sum(m.count * 1.0 / (1 + distance)) AS score, collect(DISTINCT c.name) AS via
    RETURN d.document_id AS document_id, d.title AS title, d.source AS source, score, via
    ORDER BY score DESC, document_id
    LIMIT $limit
"""  # hops (a checked whole number 1..3) is the one value formatted in: a path length can't be a parameter


def related_documents(document_ids: Iterable[str], hops: int = 1, limit: int = 10) -> list[dict]:
    """Documents sharing concepts with the given ones, or mentioning concepts up to `hops` RELATED_TO steps away.

    The start documents are excluded. Each concept reached at distance k (0 = shared) contributes
    mention count / (1 + k) to a document's score, k being the shortest distance from any start
    concept. Returns dicts with document_id, title, source, score and `via` (the concepts that led there).
    """
    ids = checked_names(document_ids, "document_id")
    hops = checked_hops(hops)  # a whole number 1..3: the one value formatted into the query text
    if not ids:
        return []
    query = RELATED_DOCUMENTS_CYPHER.format(hops=hops)
    result = client.read(query, ids=ids, limit=checked_limit(limit))
    return [record.data() for record in result.records]


def concepts_for_documents(document_ids: Iterable[str]) -> dict[str, list[dict]]:
    """{document_id: [{"name", "count"}, ...]} for the documents that exist, concepts by count then name."""
    ids = checked_names(document_ids, "document_id")
    if not ids:
        return {}
    result = client.read(
        """
        MATCH (d:Document) WHERE d.document_id IN $ids
        OPTIONAL MATCH (d)-[m:MENTIONS]->(c:Concept)
        WITH d, m, c ORDER BY m.count DESC, c.name
        RETURN d.document_id AS document_id,
               collect(CASE WHEN c IS NOT NULL THEN {name: c.name, count: m.count} END) AS concepts
        """,
        ids=ids,
    )
    return {record["document_id"]: record["concepts"] for record in result.records}


def neighbour_concepts(name: str) -> list[dict]:
    """Concepts directly RELATED_TO `name` in either direction, heaviest first."""
    result = client.read(
        """
        MATCH (:Concept {name: $name})-[r:RELATED_TO]-(other:Concept)
        RETURN other.name AS name, r.weight AS weight
        ORDER BY weight DESC, name
        """,
        name=checked_name(name),
    )
    return [record.data() for record in result.records]

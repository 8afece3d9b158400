"""Reads from the knowledge graph, each one managed read transaction (retried by the driver).

Every read is confined to the deployment's namespace (client.namespace(), always a query parameter):
no search, expansion or listing ever sees another deployment's nodes.
"""

from __future__ import annotations

from typing import Iterable

from graphstore import client
from graphstore.schema import (
    EXPECTED_CONSTRAINTS,
    GRAPH_FORMAT,
    checked_hops,
    checked_limit,
    checked_name,
    checked_names,
    legacy_constraint_rows,
    present_constraints,
)


def constraint_rows() -> list[dict]:
    result = client.read("SHOW CONSTRAINTS YIELD name, type, entityType, labelsOrTypes, properties")
    return [record.data() for record in result.records]


def constraint_status() -> dict:
    """{"present", "missing", "legacy", "ok"} for the constraints the app expects.

    `legacy` lists pre-namespace single-property constraints still on the server (install_constraints drops
    them): while one is there, a second namespace cannot hold the same concept name, so it is not ok.
    """
    rows = constraint_rows()
    present = set(present_constraints(rows))
    names = [c.name for c in EXPECTED_CONSTRAINTS]
    missing = [n for n in names if n not in present]
    legacy = sorted(row["name"] for row in legacy_constraint_rows(rows))
    return {"present": [n for n in names if n in present], "missing": missing, "legacy": legacy,
            "ok": not missing and not legacy}


def unnamespaced_count() -> int:
    """Document/Concept nodes without a namespace: written before namespaces, not yet adopted."""
    result = client.read(
        """
        CALL () { MATCH (d:Document) WHERE d.namespace IS NULL RETURN count(d) AS documents }
        CALL () { MATCH (c:Concept) WHERE c.namespace IS NULL RETURN count(c) AS concepts }
        RETURN documents + concepts AS n
        """
    )
    return result.records[0]["n"]


def document_exists(document_id: str) -> bool:
    result = client.read(
        "MATCH (d:Document {namespace: $namespace, document_id: $document_id}) RETURN count(d) > 0 AS found",
        namespace=client.namespace(),
        document_id=checked_name(document_id, "document_id"),
    )
    return result.records[0]["found"]


def document_ids() -> list[str]:
    """Every Document of this namespace (never another deployment's), sorted."""
    result = client.read(
        "MATCH (d:Document {namespace: $namespace}) RETURN d.document_id AS document_id ORDER BY document_id",
        namespace=client.namespace(),
    )
    return [record["document_id"] for record in result.records]


def outdated_document_ids() -> list[str]:
    """Documents of this namespace written by an older graph format (e.g. adopted from before namespaces):
    their edges carry no contributing documents, so reconcile rewrites them from PostgreSQL."""
    result = client.read(
        """
        MATCH (d:Document {namespace: $namespace}) WHERE coalesce(d.graph_format, 0) < $graph_format
        RETURN d.document_id AS document_id ORDER BY document_id
        """,
        namespace=client.namespace(),
        graph_format=GRAPH_FORMAT,
    )
    return [record["document_id"] for record in result.records]


_UNSUPPORTED_EDGES = """
MATCH (a:Concept {namespace: $namespace})-[r:RELATED_TO]->(b:Concept {namespace: $namespace})
WHERE NOT a.name < b.name
   OR r.docs IS NULL OR r.doc_weights IS NULL OR size(r.docs) = 0 OR size(r.docs) <> size(r.doc_weights)
   OR abs(coalesce(r.weight, 0.0) - reduce(total = 0.0, w IN r.doc_weights | total + w)) > 1e-9
   OR any(id IN r.docs WHERE NOT EXISTS {
        MATCH (a)<-[:MENTIONS]-(:Document {namespace: $namespace, document_id: id})-[:MENTIONS]->(b)
      })
WITH DISTINCT CASE WHEN a.name < b.name THEN [a.name, b.name] ELSE [b.name, a.name] END AS pair
RETURN pair ORDER BY pair
"""


def unsupported_edges() -> list[list[str]]:
    """RELATED_TO edges at this namespace's concepts that the documents do not support, as sorted [a, b] pairs.

    Unsupported: a contributing document that is not a Document of this namespace mentioning both concepts;
    no contributors, or lists that do not pair up; a weight that is not the sum of the documents' weights;
    or the wrong stored direction (the larger name first).
    A full pass over the namespace's edges, for reconcile. Neo4j reads are read-committed: a node that a
    concurrent writer deletes after this read matched it comes back with null properties; such rows are not
    facts to repair (the writer is removing them) and are left out, here and in unmentioned_concepts
    (the writers test hit one at round 91: reconcile passed a None name on to its repair).
    """
    result = client.read(_UNSUPPORTED_EDGES, namespace=client.namespace())
    return [list(record["pair"]) for record in result.records if None not in record["pair"]]


def unmentioned_concepts() -> list[str]:
    """Concepts of this namespace that no Document of the namespace mentions (they should not exist)."""
    result = client.read(
        """
        MATCH (c:Concept {namespace: $namespace})
        WHERE NOT EXISTS { MATCH (c)<-[:MENTIONS]-(:Document {namespace: $namespace}) }
        RETURN c.name AS name ORDER BY name
        """,
        namespace=client.namespace(),
    )
    return [record["name"] for record in result.records if record["name"] is not None]


def documents_mentioning_all(pairs) -> list[str]:
    """Documents of this namespace that mention both concepts of any of the [a, b] pairs, sorted."""
    pairs = [[checked_name(a), checked_name(b)] for a, b in pairs]
    if not pairs:
        return []
    result = client.read(
        """
        UNWIND $pairs AS pair
        MATCH (:Concept {namespace: $namespace, name: pair[0]})<-[:MENTIONS]-(d:Document {namespace: $namespace})
              -[:MENTIONS]->(:Concept {namespace: $namespace, name: pair[1]})
        RETURN DISTINCT d.document_id AS document_id ORDER BY document_id
        """,
        namespace=client.namespace(),
        pairs=pairs,
    )
    return [record["document_id"] for record in result.records]


def documents_for_concepts(names: Iterable[str], limit: int = 100) -> list[dict]:
    """Documents mentioning any of `names`, best first; score = total mention count of those concepts."""
    names = checked_names(names)
    if not names:
        return []
    result = client.read(
        """
        MATCH (d:Document {namespace: $namespace})-[m:MENTIONS]->(c:Concept {namespace: $namespace})
        WHERE c.name IN $names
        WITH d, sum(m.count) AS score, collect(c.name) AS concepts
        RETURN d.document_id AS document_id, d.title AS title, d.source AS source, score, concepts
        ORDER BY score DESC, document_id
        LIMIT $limit
        """,
        namespace=client.namespace(),
        names=names,
        limit=checked_limit(limit),
    )
    return [record.data() for record in result.records]


RELATED_DOCUMENTS_CYPHER = """
    MATCH (start:Document {{namespace: $namespace}})-[:MENTIONS]->(c0:Concept {{namespace: $namespace}})
    WHERE start.document_id IN $ids
    WITH DISTINCT c0
    MATCH p = (c0)-[:RELATED_TO*0..{hops:d}]-(c:Concept {{namespace: $namespace}})
    WITH c, min(length(p)) AS distance
    MATCH (d:Document {{namespace: $namespace}})-[m:MENTIONS]->(c)
    WHERE NOT d.document_id IN $ids
    WITH d, sum(m.count * 1.0 / (1 + distance)) AS score, collect(DISTINCT c.name) AS via
    RETURN d.document_id AS document_id, d.title AS title, d.source AS source, score, via
    ORDER BY score DESC, document_id
    LIMIT $limit
"""  # hops (a checked whole number 1..3) is the one value formatted in: a path length can't be a parameter.
# Parameters: $namespace (the deployment's; edges never join two namespaces, and the start, reached concept and
# found document are all matched in it), $ids, $limit.


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
    result = client.read(query, namespace=client.namespace(), ids=ids, limit=checked_limit(limit))
    return [record.data() for record in result.records]


def concepts_for_documents(document_ids: Iterable[str]) -> dict[str, list[dict]]:
    """{document_id: [{"name", "count"}, ...]} for the documents that exist, concepts by count then name."""
    ids = checked_names(document_ids, "document_id")
    if not ids:
        return {}
    result = client.read(
        """
        MATCH (d:Document {namespace: $namespace}) WHERE d.document_id IN $ids
        OPTIONAL MATCH (d)-[m:MENTIONS]->(c:Concept)
        WITH d, m, c ORDER BY m.count DESC, c.name
        RETURN d.document_id AS document_id,
               collect(CASE WHEN c IS NOT NULL THEN {name: c.name, count: m.count} END) AS concepts
        """,
        namespace=client.namespace(),
        ids=ids,
    )
    return {record["document_id"]: record["concepts"] for record in result.records}


def neighbour_concepts(name: str) -> list[dict]:
    """Concepts directly RELATED_TO `name` in either direction, heaviest first."""
    result = client.read(
        """
        MATCH (:Concept {namespace: $namespace, name: $name})-[r:RELATED_TO]-(other:Concept {namespace: $namespace})
        RETURN other.name AS name, r.weight AS weight
        ORDER BY weight DESC, name
        """,
        namespace=client.namespace(),
        name=checked_name(name),
    )
    return [record.data() for record in result.records]


# Documents about the concepts a query names: each named concept that exists (looked up by the (namespace, name)
# uniqueness index) contributes idf * (1 + ln(mentions)) to each of its `per_concept` most-mentioning documents,
# idf = ln(1 + documents / (1 + documents mentioning it)): a concept many pages mention ("django") counts for
# little. Bounded: at most len($names) index lookups and a degree count each (O(1)); a concept mentioned by more than
# $max_df documents is skipped before its mentions are read (its idf is the lowest of the query's, and sorting its
# hundreds of mentions was most of this query's work: BENCHMARKS.md "Load"); LIMIT $per_concept mentions each.
# The documents are not matched by label and namespace while the mentions are sorted (that read a property of every
# mentioning document): a MENTIONS edge only ever joins a Document and a Concept of the same namespace (the write
# path MERGEs it between the namespace's own nodes: services._LINK_CONCEPTS, group_statements.LINK_CONCEPTS).
# The check stays, on the `per_concept` kept rows only, for nodes adopted from before namespaces
# (install_constraints adopts a concept, and leaves a document whose id the namespace already holds, un-namespaced).
QUERY_CONCEPT_DOCUMENTS_CYPHER = """
    UNWIND $names AS name
    MATCH (c:Concept {namespace: $namespace, name: name})
    WITH c, COUNT { (c)<-[:MENTIONS]-() } AS df
    WHERE df <= $max_df
    WITH c, log(1.0 + $documents / (1.0 + df)) AS idf
    CALL (c, idf) {
        MATCH (d)-[m:MENTIONS]->(c)
        WITH d, m ORDER BY m.count DESC, d.document_id LIMIT $per_concept
        WHERE d.namespace = $namespace
        RETURN d, idf * (1.0 + log(m.count)) AS part
    }
    WITH d, sum(part) AS score, collect(c.name) AS via
    RETURN d.document_id AS document_id, score, via
    ORDER BY score DESC, document_id
    LIMIT $limit
"""
# A concept mentioned by more than this share of the namespace's documents names nothing the query is about: it is
# skipped (when it is also mentioned by more than `per_concept` documents: in a small namespace every concept is
# mentioned by a large share). Chosen on the dev sets (docs/evaluation.md section 3c): 0.1-0.5 left every metric
# as it was; 0.05 lowered graph-only MRR.
QUERY_CONCEPT_MAX_SHARE = 0.25


def documents_for_query_concepts(names: Iterable[str], documents: int, limit: int = 20, per_concept: int = 50,
                                 max_share: float = QUERY_CONCEPT_MAX_SHARE) -> list[dict]:
    """Documents mentioning the concepts among `names` (phrases of a query), best first, idf-weighted (see the
    Cypher above); dicts with document_id, score and `via` (the concepts that matched). `documents` is the
    number of documents in the namespace (for idf). A concept mentioned by more than max(per_concept,
    max_share x documents) documents is left out."""
    names = checked_names(names)
    if not names:
        return []
    documents = max(documents, 1)
    per_concept = checked_limit(per_concept)
    result = client.read(QUERY_CONCEPT_DOCUMENTS_CYPHER, namespace=client.namespace(), names=names,
                         documents=float(documents), limit=checked_limit(limit), per_concept=per_concept,
                         max_df=max(float(per_concept), max_share * documents))
    return [record.data() for record in result.records]

"""Writes to the knowledge graph, all within the deployment's namespace (client.namespace()).

The graph is a function of the documents present (docs/graph.md):
- (:Document)-[:MENTIONS {count}]->(:Concept), per document;
- (:Concept)-[:RELATED_TO {docs, doc_weights, weight}]->(:Concept): `docs` lists the documents whose
  co-occurrence supports the edge (sorted), `doc_weights` each one's count, `weight` their sum. A document
  contributes only to edges between concepts it mentions, so its contributions are found through its own
  MENTIONS, never by scanning the graph.
Writing a document replaces exactly its contribution; deleting it withdraws it. Edges left without a
contributor and concepts left without a mention are deleted in the same transaction.

Every write is a MERGE/SET (never CREATE or +=) inside a managed transaction: the driver retries, and may
replay a transaction whose commit it could not confirm, so running any of these twice must leave the
graph as running it once. Batches go in one round trip with UNWIND. The namespace is always a parameter.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from graphstore import client, group_statements, selectors
from graphstore.schema import (
    EXPECTED_CONSTRAINTS,
    GRAPH_FORMAT,
    checked_name,
    contribution_rows,
    legacy_constraint_rows,
    mention_rows,
    present_constraints,
    quoted_name,
    relation_rows,
)

ADOPT_BATCH = 10_000
DELETE_BATCH = 10_000

# Un-namespaced nodes (written before namespaces) become this namespace's, unless the namespace already
# holds a node with the same identity (then the old node is left alone and counted as a conflict).
_ADOPT = {
    "Document": """
        MATCH (n:Document) WHERE n.namespace IS NULL AND n.document_id IS NOT NULL
          AND NOT EXISTS { MATCH (:Document {namespace: $namespace, document_id: n.document_id}) }
        WITH n LIMIT $batch
        SET n.namespace = $namespace
        RETURN count(n) AS adopted
    """,
    "Concept": """
        MATCH (n:Concept) WHERE n.namespace IS NULL AND n.name IS NOT NULL
          AND NOT EXISTS { MATCH (:Concept {namespace: $namespace, name: n.name}) }
        WITH n LIMIT $batch
        SET n.namespace = $namespace
        RETURN count(n) AS adopted
    """,
}


def install_constraints() -> dict:
    """Bring the server to the namespaced schema, idempotently, and report what it did.

    1. drop the pre-namespace single-property uniqueness constraints (whatever their name): they would stop
       two namespaces from holding the same concept name (this is the one step that acts server-wide);
    2. adopt un-namespaced Document/Concept nodes into this namespace (an old single-deployment graph
       becomes this deployment's; reconcile then rewrites those documents' graph from PostgreSQL);
    3. create the composite (namespace, id) uniqueness constraints that are missing.
    Returns {"created": [...], "existing": [...], "dropped": [...], "adopted": int, "not_adopted": int}.
    """
    namespace = client.namespace()
    dropped = []
    for row in legacy_constraint_rows(selectors.constraint_rows()):
        client.write(f"DROP CONSTRAINT {quoted_name(row['name'])} IF EXISTS")
        dropped.append(row["name"])
    adopted = sum(_in_batches(query, "adopted", ADOPT_BATCH, namespace) for query in _ADOPT.values())
    not_adopted = selectors.unnamespaced_count()
    before = set(present_constraints(selectors.constraint_rows()))
    for constraint in EXPECTED_CONSTRAINTS:
        if constraint.name not in before:
            client.write(constraint.create_cypher())
    after = set(present_constraints(selectors.constraint_rows()))
    names = [c.name for c in EXPECTED_CONSTRAINTS]
    return {
        "created": [n for n in names if n in after and n not in before],
        "existing": [n for n in names if n in before],
        "dropped": dropped,
        "adopted": adopted,
        "not_adopted": not_adopted,
    }


# --- one document's part of the graph: statements run inside one managed transaction ---------------------

_UPSERT_DOCUMENT = """
MERGE (d:Document {namespace: $namespace, document_id: $document_id})
  ON CREATE SET d.created = datetime()
SET d.title = $title, d.source = $source, d.content_hash = $content_hash, d.updated = datetime(),
    d.graph_format = $graph_format
"""

# Two documents may change one edge at the same time (each holds only its own document's lock), so every
# statement that reads and rewrites an edge first writes its two concepts (a no-op SET takes their write
# locks): edges between a pair of concepts are then changed one transaction at a time, with docs and
# doc_weights read after the lock (seen without it: a lost update left the two lists out of step, and a
# later write failed on a null weight). A deadlock between two such writers is a transient error, which the
# driver's managed transaction retries. These locks alone proved not enough under read-committed isolation:
# ingestion also serialises a namespace's graph writes with rag_data.ledger.graph_lock (docs/graph.md).
# Removes the document's entry from every edge it contributed to (found through its mentions); edges left
# with no contributor are deleted. `$only` (a list of concept names, or null for all) limits it to edges
# touching those concepts.
_WITHDRAW_CONTRIBUTIONS = """
MATCH (d:Document {namespace: $namespace, document_id: $document_id})-[:MENTIONS]->(c:Concept)
WHERE $only IS NULL OR c.name IN $only
MATCH (c)-[r:RELATED_TO]-(:Concept)
WHERE $document_id IN r.docs
WITH DISTINCT r
MATCH (x:Concept)-[r]->(y:Concept)
SET x.updated = x.updated, y.updated = y.updated
WITH r, [i IN range(0, size(r.docs) - 1) WHERE r.docs[i] <> $document_id] AS keep
WITH r, [i IN keep | r.docs[i]] AS docs, [i IN keep | r.doc_weights[i]] AS weights
SET r.docs = docs, r.doc_weights = weights, r.weight = reduce(total = 0.0, w IN weights | total + w)
WITH r, docs WHERE size(docs) = 0
DELETE r
RETURN count(*) AS edges_removed
"""

_DROP_STALE_MENTIONS = """
MATCH (d:Document {namespace: $namespace, document_id: $document_id})-[stale:MENTIONS]->(old:Concept)
WHERE NOT old.name IN $names
WITH stale, old.name AS name
DELETE stale
RETURN collect(name) AS dropped
"""

_LINK_CONCEPTS = """
MATCH (d:Document {namespace: $namespace, document_id: $document_id})
UNWIND $rows AS row
MERGE (c:Concept {namespace: $namespace, name: row.name})
  ON CREATE SET c.created = datetime()
SET c.updated = datetime()
MERGE (d)-[m:MENTIONS]->(c)
SET m.count = row.count
RETURN count(m) AS linked
"""

# Sets the document's entry on each edge (a < b), keeping `docs` sorted; both concepts must be mentioned
# by the document (matched through its MENTIONS, so a pair it does not mention writes nothing).
_CONTRIBUTE = """
MATCH (d:Document {namespace: $namespace, document_id: $document_id})
UNWIND $rows AS row
MATCH (d)-[:MENTIONS]->(a:Concept {namespace: $namespace, name: row.a})
MATCH (d)-[:MENTIONS]->(b:Concept {namespace: $namespace, name: row.b})
SET a.updated = a.updated, b.updated = b.updated
MERGE (a)-[r:RELATED_TO]->(b)
WITH r, row, coalesce(r.docs, []) AS docs, coalesce(r.doc_weights, []) AS weights
WITH r, row, docs, weights, [i IN range(0, size(docs) - 1) WHERE docs[i] < $document_id] AS before,
     [i IN range(0, size(docs) - 1) WHERE docs[i] > $document_id] AS after
WITH r, [i IN before | docs[i]] + [$document_id] + [i IN after | docs[i]] AS new_docs,
     [i IN before | weights[i]] + [row.weight] + [i IN after | weights[i]] AS new_weights
SET r.docs = new_docs, r.doc_weights = new_weights,
    r.weight = reduce(total = 0.0, w IN new_weights | total + w)
RETURN count(r) AS related
"""

_DELETE_UNMENTIONED = """
UNWIND $names AS name
MATCH (c:Concept {namespace: $namespace, name: name})
WHERE NOT EXISTS { MATCH (c)<-[:MENTIONS]-(:Document) }
DETACH DELETE c
RETURN count(*) AS removed
"""


def _run(tx, query: str, **params):
    return tx.run(query, **params).single()


def _document_exists(tx, namespace: str, document_id: str) -> bool:
    record = _run(tx, "MATCH (d:Document {namespace: $namespace, document_id: $document_id}) "
                      "RETURN count(d) > 0 AS found", namespace=namespace, document_id=document_id)
    return record["found"]


def _withdraw(tx, namespace: str, document_id: str, only: list[str] | None = None) -> int:
    return _run(tx, _WITHDRAW_CONTRIBUTIONS, namespace=namespace, document_id=document_id,
                only=only)["edges_removed"]


def _relink(tx, namespace: str, document_id: str, rows: list[dict], replace: bool) -> tuple[int, int]:
    """Set the document's mentions; with `replace`, drop the others (withdrawing the document's contributions
    to edges at the concepts it no longer mentions) and delete concepts nobody mentions any more.
    Returns (mentions written, concepts removed)."""
    names = [row["name"] for row in rows]
    removed = 0
    if replace:
        current = [r["name"] for r in tx.run(
            "MATCH (:Document {namespace: $namespace, document_id: $document_id})-[:MENTIONS]->(c:Concept) "
            "RETURN c.name AS name", namespace=namespace, document_id=document_id)]
        stale = [name for name in current if name not in set(names)]
        if stale:
            _withdraw(tx, namespace, document_id, only=stale)
            dropped = _run(tx, _DROP_STALE_MENTIONS, namespace=namespace, document_id=document_id,
                           names=names)["dropped"]
            removed = _run(tx, _DELETE_UNMENTIONED, namespace=namespace, names=dropped)["removed"]
    linked = _run(tx, _LINK_CONCEPTS, namespace=namespace, document_id=document_id, rows=rows)["linked"] if rows else 0
    return linked, removed


def _write_document_tx(tx, namespace: str, document_id: str, properties: dict, rows: list[dict],
                       pairs: list[dict]) -> dict:
    tx.run(_UPSERT_DOCUMENT, namespace=namespace, document_id=document_id, graph_format=GRAPH_FORMAT,
           **properties)
    _withdraw(tx, namespace, document_id)
    linked, removed = _relink(tx, namespace, document_id, rows, replace=True)
    related = _run(tx, _CONTRIBUTE, namespace=namespace, document_id=document_id, rows=pairs)["related"] if pairs else 0
    return {"mentions": linked, "related": related, "concepts_removed": removed}


def write_document(document_id: str, title: str | None, source: str | None, content_hash: str | None,
                   concepts: Mapping[str, int], pairs: Iterable[tuple[str, str, float]] = ()) -> dict:
    """Replace one document's whole part of the graph, in one managed transaction (replays are harmless).

    Upserts the Document node; withdraws its previous RELATED_TO contributions; sets its mentions to
    `concepts` ({name: count}), deleting concepts only it mentioned that it no longer does; then adds its
    contribution to each (a, b, weight) pair (both concepts must be in `concepts`). Returns
    {"mentions", "related", "concepts_removed"}.
    """
    document_id = checked_name(document_id, "document_id")
    rows = mention_rows(concepts)
    pairs = contribution_rows(concepts, pairs)
    properties = {"title": title, "source": source, "content_hash": content_hash}
    return client.execute_write(_write_document_tx, client.namespace(), document_id, properties, rows, pairs)


def _write_documents_tx(tx, namespace: str, docs: list[dict], mentions: list[dict], contributions: list[dict]):
    ids = [doc["document_id"] for doc in docs]
    tx.run(group_statements.UPSERT_DOCUMENTS, namespace=namespace, docs=docs, graph_format=GRAPH_FORMAT)
    _run(tx, group_statements.WITHDRAW, namespace=namespace, ids=ids)
    dropped = _run(tx, group_statements.DROP_STALE_MENTIONS, namespace=namespace, docs=docs)["dropped"]
    removed = _run(tx, _DELETE_UNMENTIONED, namespace=namespace, names=dropped)["removed"] if dropped else 0
    linked = _run(tx, group_statements.LINK_CONCEPTS, namespace=namespace, rows=mentions)["linked"] if mentions else 0
    edges: dict[tuple[str, str], dict[str, float]] = {}
    for row in contributions:
        edges.setdefault((row["a"], row["b"]), {})[row["document_id"]] = row["weight"]
    related = 0
    if edges:
        for record in tx.run(group_statements.READ_EDGES, namespace=namespace, pairs=[list(pair) for pair in edges]):
            kept = zip(record["docs"] or [], record["weights"] or [])
            edges[(record["a"], record["b"])].update((doc, weight) for doc, weight in kept if doc not in edges)
        rows = [{"a": a, "b": b, "docs": sorted(by_doc), "weights": [by_doc[doc] for doc in sorted(by_doc)]}
                for (a, b), by_doc in edges.items()]
        related = _run(tx, group_statements.SET_EDGES, namespace=namespace, rows=rows)["related"]
    return {"mentions": linked, "related": related, "concepts_removed": removed}


def write_documents(documents: Iterable[Mapping]) -> dict:
    """write_document for many documents in one managed transaction, one statement per write kind.

    Each of `documents` has document_id, title, source, content_hash, concepts ({name: count}) and pairs
    ([(a, b, weight)]). The result is the graph write_document would leave after writing them one by one:
    each document's contribution is its own (docs/graph.md). Returns the summed counts.
    """
    docs, mentions, contributions = [], [], []
    for document in documents:
        document_id = checked_name(document["document_id"], "document_id")
        rows = mention_rows(document["concepts"])
        docs.append({"document_id": document_id, "title": document["title"], "source": document["source"],
                     "content_hash": document["content_hash"], "names": [row["name"] for row in rows]})
        mentions.extend({"document_id": document_id, **row} for row in rows)
        contributions.extend({"document_id": document_id, **row}
                             for row in contribution_rows(document["concepts"], document["pairs"]))
    if not docs:
        return {"mentions": 0, "related": 0, "concepts_removed": 0}
    return client.execute_write(_write_documents_tx, client.namespace(), docs, mentions, contributions)


def upsert_document(document_id: str, title: str | None, source: str | None, content_hash: str | None) -> bool:
    """Create or update a Document node (its properties only); returns True if it was created."""
    result = client.write(
        _UPSERT_DOCUMENT,
        namespace=client.namespace(),
        document_id=checked_name(document_id, "document_id"),
        title=title,
        source=source,
        content_hash=content_hash,
        graph_format=GRAPH_FORMAT,
    )
    return result.summary.counters.nodes_created > 0


def _link_tx(tx, namespace: str, document_id: str, rows: list[dict], replace: bool) -> int:
    if not _document_exists(tx, namespace, document_id):
        raise LookupError(f"no Document with document_id {document_id!r}")
    return _relink(tx, namespace, document_id, rows, replace)[0]


def link_document_concepts(document_id: str, concepts: Mapping[str, int], *, replace: bool = False) -> int:
    """Set Document -MENTIONS{count}-> Concept for each {name: count}, creating missing concepts.

    Counts are set, not added. With replace=True the document's other mentions are removed, with its
    contributions to edges at those concepts, and concepts no document mentions any more are deleted.
    Returns the number of mentions written; raises LookupError if the document does not exist.
    """
    document_id = checked_name(document_id, "document_id")
    rows = mention_rows(concepts)
    return client.execute_write(_link_tx, client.namespace(), document_id, rows, bool(replace))


def _relate_tx(tx, namespace: str, document_id: str, rows: list[dict]) -> int:
    if not _document_exists(tx, namespace, document_id):
        raise LookupError(f"no Document with document_id {document_id!r}")
    mentioned = [r["name"] for r in tx.run(
        "MATCH (:Document {namespace: $namespace, document_id: $document_id})-[:MENTIONS]->(c:Concept) "
        "RETURN c.name AS name", namespace=namespace, document_id=document_id)]
    contribution_rows(mentioned, [(row["a"], row["b"], row["weight"]) for row in rows])  # raises: nothing written
    return _run(tx, _CONTRIBUTE, namespace=namespace, document_id=document_id, rows=rows)["related"]


def relate_concepts(document_id: str, pairs: Iterable[tuple[str, str, float]]) -> int:
    """Set `document_id`'s contribution to Concept -RELATED_TO- Concept for each (a, b, weight).

    Undirected: (a, b) and (b, a) are the same edge, stored once from the smaller name to the larger. The
    document's entry is SET (a replay cannot double it); the edge's weight is the sum over its contributing
    documents. The document must exist (LookupError) and mention both concepts (ValueError); either way
    nothing is written. Returns the number of edges written.
    """
    document_id = checked_name(document_id, "document_id")
    rows = relation_rows(pairs)
    if not rows:
        return 0
    return client.execute_write(_relate_tx, client.namespace(), document_id, rows)


_DETACH_DOCUMENT = """
MATCH (d:Document {namespace: $namespace, document_id: $document_id})
OPTIONAL MATCH (d)-[:MENTIONS]->(c:Concept)
WITH d, collect(c.name) AS names
DETACH DELETE d
RETURN names
"""


def _delete_document_tx(tx, namespace: str, document_id: str) -> dict:
    _withdraw(tx, namespace, document_id)
    record = tx.run(_DETACH_DOCUMENT, namespace=namespace, document_id=document_id).single()
    if record is None:
        return {"deleted": False, "concepts_removed": 0}
    removed = _run(tx, _DELETE_UNMENTIONED, namespace=namespace, names=record["names"])["removed"]
    return {"deleted": True, "concepts_removed": removed}


def delete_document(document_id: str) -> dict:
    """Delete a Document of this namespace with exactly its contribution to the graph.

    Its RELATED_TO contributions are withdrawn (edges left without one are deleted), and the concepts it
    mentioned that no other document mentions go too. Returns {"deleted": bool, "concepts_removed": int}.
    """
    return client.execute_write(_delete_document_tx, client.namespace(), checked_name(document_id, "document_id"))


# --- repairs (reconcile) and clean-up ------------------------------------------------------------------

_DELETE_EDGES = """
UNWIND $pairs AS pair
MATCH (a:Concept {namespace: $namespace, name: pair[0]})-[r:RELATED_TO]-(b:Concept {namespace: $namespace, name: pair[1]})
DELETE r
RETURN count(r) AS removed
"""


def delete_edges(pairs: Iterable[tuple[str, str]]) -> int:
    """Delete the RELATED_TO edges (either direction) between these concept pairs of the namespace.

    For reconcile: an edge that its documents do not support is removed whole, then the documents that
    mention both concepts are rewritten, which restores exactly their contributions.
    """
    rows = [[checked_name(a), checked_name(b)] for a, b in pairs]
    if not rows:
        return 0
    return client.write(_DELETE_EDGES, namespace=client.namespace(), pairs=rows).records[0]["removed"]


def delete_unmentioned_concepts(names: Iterable[str]) -> int:
    """Delete these concepts of the namespace if no document mentions them (with their edges)."""
    names = [checked_name(name) for name in names]
    if not names:
        return 0
    return client.write(_DELETE_UNMENTIONED, namespace=client.namespace(), names=names).records[0]["removed"]


_WIPE = {
    "Document": """
        MATCH (n:Document {namespace: $namespace})
        WITH n LIMIT $batch
        DETACH DELETE n
        RETURN count(n) AS removed
    """,
    "Concept": """
        MATCH (n:Concept {namespace: $namespace})
        WITH n LIMIT $batch
        DETACH DELETE n
        RETURN count(n) AS removed
    """,
}


def wipe_namespace() -> int:
    """Delete every node (and so every relationship) of this namespace, in batches; nothing else.

    For test clean-up and for retiring a deployment. Returns the number of nodes removed.
    """
    namespace = client.namespace()
    return sum(_in_batches(query, "removed", DELETE_BATCH, namespace) for query in _WIPE.values())


def _in_batches(query: str, counted: str, batch: int, namespace: str) -> int:
    """Run `query` (one transaction each, at most `batch` nodes) until a run touches fewer; the total count."""
    total = 0
    while True:
        count = client.write(query, namespace=namespace, batch=batch).records[0][counted]
        total += count
        if count < batch:
            return total

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

from graphstore import client, selectors
from graphstore import documents as documents_tx
from graphstore.group_statements import DELETE_EDGES, DELETE_UNMENTIONED
from graphstore.schema import (
    EXPECTED_CONSTRAINTS,
    checked_label,
    checked_name,
    checked_namespace,
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
def _adopt_query(label: str, key: str) -> str:
    """The adoption of one label's un-namespaced nodes, in batches (label and key are this module's constants)."""
    return f"""
        MATCH (n:{label}) WHERE n.namespace IS NULL AND n.{key} IS NOT NULL
          AND NOT EXISTS {{ MATCH (:{label} {{namespace: $namespace, {key}: n.{key}}}) }}
        WITH n LIMIT $batch
        SET n.namespace = $namespace
        RETURN count(n) AS adopted
    """


_ADOPT = {label: _adopt_query(checked_label(label), key) for label, key in (("Document", "document_id"),
                                                                            ("Concept", "name"))}


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


# --- documents' parts of the graph (the transaction work is in graphstore.documents) ---------------------

def group_rows(documents: Iterable[Mapping]) -> tuple[list[dict], list[dict], list[dict]]:
    """(documents, mentions, edges): the rows documents.write_documents_tx takes for a group (write_documents'
    input shape; names checked). Public for the graph warm-up, which runs the same statement on made-up data."""
    docs, mentions, contributions = [], [], []
    for document in documents:
        document_id = checked_name(document["document_id"], "document_id")
        rows = mention_rows(document["concepts"])
        docs.append({"document_id": document_id, "title": document["title"], "source": document["source"],
                     "content_hash": document["content_hash"], "names": [row["name"] for row in rows]})
        mentions.extend({"document_id": document_id, **row} for row in rows)
        contributions.extend({"document_id": document_id, **row}
                             for row in contribution_rows(document["concepts"], document["pairs"]))
    return docs, mentions, documents_tx.edge_rows(contributions)


def write_documents(documents: Iterable[Mapping]) -> dict:
    """Replace each document's whole part of the graph, all in one managed transaction (replays are harmless).

    Each of `documents` has document_id, title, source, content_hash, concepts ({name: count}) and pairs
    ([(a, b, weight)], both concepts among its concepts). Per document: the Document node is upserted; its
    previous RELATED_TO contributions are withdrawn; its mentions become `concepts` (concepts only it
    mentioned that it no longer does are deleted); its contribution to each pair is set. Each document's
    contribution is its own (docs/graph.md): the graph is the one writing them one by one would leave.
    Returns the summed {"mentions", "related", "concepts_removed"}.
    """
    docs, mentions, edges = group_rows(documents)
    if not docs:
        return {"mentions": 0, "related": 0, "concepts_removed": 0}
    return client.execute_write(documents_tx.write_documents_tx, client.namespace(), docs, mentions, edges)


def write_document(document_id: str, title: str | None, source: str | None, content_hash: str | None,
                   concepts: Mapping[str, int], pairs: Iterable[tuple[str, str, float]] = ()) -> dict:
    """write_documents for one document."""
    return write_documents([{"document_id": document_id, "title": title, "source": source,
                             "content_hash": content_hash, "concepts": concepts, "pairs": list(pairs)}])


def upsert_document(document_id: str, title: str | None, source: str | None, content_hash: str | None) -> bool:
    """Create or update a Document node (its properties only); returns True if it was created."""
    doc = {"document_id": checked_name(document_id, "document_id"), "title": title, "source": source,
           "content_hash": content_hash}
    return not client.execute_write(documents_tx.upsert, client.namespace(), [doc])


def link_document_concepts(document_id: str, concepts: Mapping[str, int], *, replace: bool = False) -> int:
    """Set Document -MENTIONS{count}-> Concept for each {name: count}, creating missing concepts.

    Counts are set, not added. With replace=True the document's other mentions are removed, with its
    contributions to edges at those concepts, and concepts no document mentions any more are deleted.
    Returns the number of mentions written; raises LookupError if the document does not exist.
    """
    document_id = checked_name(document_id, "document_id")
    rows = mention_rows(concepts)
    return client.execute_write(documents_tx.relink_tx, client.namespace(), document_id, rows, bool(replace))


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

    def check(mentioned: list[str]) -> None:
        contribution_rows(mentioned, [(row["a"], row["b"], row["weight"]) for row in rows])

    return client.execute_write(documents_tx.relate_tx, client.namespace(), document_id, rows, check)


def delete_document(document_id: str) -> dict:
    """Delete a Document of this namespace with exactly its contribution to the graph.

    Its RELATED_TO contributions are withdrawn (edges left without one are deleted), and the concepts it
    mentioned that no other document mentions go too. Returns {"deleted": bool, "concepts_removed": int}.
    """
    return client.execute_write(documents_tx.delete_document_tx, client.namespace(),
                                checked_name(document_id, "document_id"))


# --- repairs (reconcile) and clean-up ------------------------------------------------------------------

def delete_edges(pairs: Iterable[tuple[str, str]]) -> int:
    """Delete the RELATED_TO edges (either direction) between these concept pairs of the namespace.

    For reconcile: an edge that its documents do not support is removed whole, then the documents that
    mention both concepts are rewritten, which restores exactly their contributions.
    """
    rows = [[checked_name(a), checked_name(b)] for a, b in pairs]
    if not rows:
        return 0
    return client.write(DELETE_EDGES, namespace=client.namespace(), pairs=rows).records[0]["removed"]


def delete_unmentioned_concepts(names: Iterable[str]) -> int:
    """Delete these concepts of the namespace if no document mentions them (with their edges)."""
    names = [checked_name(name) for name in names]
    if not names:
        return 0
    return client.write(DELETE_UNMENTIONED, namespace=client.namespace(), names=names).records[0]["removed"]


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


def wipe_namespace(namespace: str | None = None) -> int:
    """Delete every node (and so every relationship) of this namespace (or of `namespace`), in batches; nothing
    else. For test clean-up, the warm-up's own namespace and retiring a deployment. Returns the nodes removed.
    """
    namespace = checked_namespace(namespace) if namespace is not None else client.namespace()
    return sum(_in_batches(query, "removed", DELETE_BATCH, namespace) for query in _WIPE.values())


def _in_batches(query: str, counted: str, batch: int, namespace: str) -> int:
    """Run `query` (one transaction each, at most `batch` nodes) until a run touches fewer; the total count."""
    total = 0
    while True:
        count = client.write(query, namespace=namespace, batch=batch).records[0][counted]
        total += count
        if count < batch:
            return total

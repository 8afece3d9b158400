"""The work of a document write, run inside one managed transaction (graphstore.services calls these).

One document is a group of one: the same statements (graphstore.group_statements) and the same steps.
A group's write: upsert the Document nodes (learning which existed); for those only, read their old
mentions, withdraw their entries from the edges between the concepts they mentioned that the group does not
write again, and drop the mentions they no longer have (with concepts nobody mentions any more); link the
new mentions; set each edge the group writes, its old entries of the group's documents replaced. A new
document (no node yet) has nothing to withdraw, so a fresh ingest runs three statements per group.

Everything is MERGE/SET of values computed from the arguments and what the transaction reads, never `+=`:
the driver may replay a transaction whose commit it could not confirm, and a replay leaves the graph as one
run does (the replay finds the documents existing, withdraws and sets the same entries again).
"""

from __future__ import annotations

from itertools import combinations

from graphstore import group_statements as statements
from graphstore.schema import GRAPH_FORMAT


def run(tx, query: str, **params):
    return tx.run(query, **params).single()


def edge_rows(contributions: list[dict]) -> list[dict]:
    """Per-document contribution rows ({document_id, a, b, weight}) -> one row per edge with its documents'
    entries sorted by document id (SET_EDGES's rows)."""
    edges: dict[tuple[str, str], dict[str, float]] = {}
    for row in contributions:
        edges.setdefault((row["a"], row["b"]), {})[row["document_id"]] = row["weight"]
    return [{"a": a, "b": b, "docs": sorted(by_doc), "weights": [by_doc[doc] for doc in sorted(by_doc)]}
            for (a, b), by_doc in sorted(edges.items())]


def mentions(tx, namespace: str, ids: list[str]) -> dict[str, list[str]]:
    return {record["document_id"]: record["names"]
            for record in tx.run(statements.MENTIONS, namespace=namespace, ids=ids)}


def concept_pairs(names) -> set[tuple[str, str]]:
    """Every pair (a < b) of these concepts: the edges a document mentioning them can contribute to."""
    return set(combinations(sorted(set(names)), 2))


def withdraw(tx, namespace: str, ids: list[str], pairs) -> int:
    """Remove the documents' entries from the edges between `pairs`; returns the edges deleted."""
    pairs = [list(pair) for pair in sorted(pairs)]
    if not pairs or not ids:
        return 0
    return run(tx, statements.WITHDRAW, namespace=namespace, ids=ids, pairs=pairs)["edges_removed"]


def drop_mentions(tx, namespace: str, stale: dict[str, set[str]]) -> int:
    """Delete these mentions ({document_id: names}), then the concepts no document mentions any more;
    returns the concepts deleted."""
    rows = [{"document_id": document_id, "names": sorted(names)} for document_id, names in stale.items() if names]
    if not rows:
        return 0
    tx.run(statements.DROP_MENTIONS, namespace=namespace, rows=rows).consume()
    names = sorted({name for row in rows for name in row["names"]})
    return run(tx, statements.DELETE_UNMENTIONED, namespace=namespace, names=names)["removed"]


def link(tx, namespace: str, rows: list[dict]) -> int:
    return run(tx, statements.LINK_CONCEPTS, namespace=namespace, rows=rows)["linked"] if rows else 0


def set_edges(tx, namespace: str, edges: list[dict], replaced: list[str]) -> int:
    return run(tx, statements.SET_EDGES, namespace=namespace, rows=edges, replaced=replaced)["related"] if edges else 0


def upsert(tx, namespace: str, docs: list[dict]) -> list[str]:
    """Upsert the Document nodes; returns the ids that existed before."""
    return run(tx, statements.UPSERT_DOCUMENTS, namespace=namespace, docs=docs, graph_format=GRAPH_FORMAT)["existing"]


def write_documents_tx(tx, namespace: str, docs: list[dict], mention_rows: list[dict], edges: list[dict]) -> dict:
    """docs: {document_id, title, source, content_hash, names}; mention_rows: {document_id, name, count};
    edges: edge_rows(...). Replaces exactly the part of the graph of each of `docs`."""
    existing = upsert(tx, namespace, docs)
    removed = 0
    if existing:
        old = mentions(tx, namespace, existing)
        written = {(edge["a"], edge["b"]) for edge in edges}
        withdraw(tx, namespace, existing, set().union(*map(concept_pairs, old.values())) - written)
        names = {doc["document_id"]: set(doc["names"]) for doc in docs}
        removed = drop_mentions(tx, namespace, {doc: set(old_names) - names[doc] for doc, old_names in old.items()})
    linked = link(tx, namespace, mention_rows)
    related = set_edges(tx, namespace, edges, existing)
    return {"mentions": linked, "related": related, "concepts_removed": removed}


def found(tx, namespace: str, document_id: str) -> bool:
    return bool(run(tx, statements.DOCUMENTS_FOUND, namespace=namespace, ids=[document_id])["found"])


def relink_tx(tx, namespace: str, document_id: str, rows: list[dict], replace: bool) -> int:
    """Set one document's mentions (rows: {name, count}); with `replace`, drop its other mentions with its
    entries on the edges at those concepts. LookupError if the document does not exist."""
    if not found(tx, namespace, document_id):
        raise LookupError(f"no Document with document_id {document_id!r}")
    if replace:
        old = set(mentions(tx, namespace, [document_id]).get(document_id, []))
        stale = old - {row["name"] for row in rows}
        withdraw(tx, namespace, [document_id], {pair for pair in concept_pairs(old) if set(pair) & stale})
        drop_mentions(tx, namespace, {document_id: stale})
    return link(tx, namespace, [{"document_id": document_id, **row} for row in rows])


def relate_tx(tx, namespace: str, document_id: str, rows: list[dict], check) -> int:
    """Set one document's entries on these edges (rows: {a, b, weight}), after `check(mentioned names)`."""
    if not found(tx, namespace, document_id):
        raise LookupError(f"no Document with document_id {document_id!r}")
    check(mentions(tx, namespace, [document_id]).get(document_id, []))  # raises: nothing written
    return set_edges(tx, namespace, edge_rows([{"document_id": document_id, **row} for row in rows]), [])


def delete_document_tx(tx, namespace: str, document_id: str) -> dict:
    old = mentions(tx, namespace, [document_id]).get(document_id, [])
    withdraw(tx, namespace, [document_id], concept_pairs(old))
    record = tx.run(statements.DETACH_DOCUMENT, namespace=namespace, document_id=document_id).single()
    if record is None:
        return {"deleted": False, "concepts_removed": 0}
    removed = run(tx, statements.DELETE_UNMENTIONED, namespace=namespace, names=record["names"])["removed"]
    return {"deleted": True, "concepts_removed": removed}

"""The Cypher of a group's graph write (graphstore.services.write_documents): one statement per write kind.

Each statement handles every document of the group with UNWIND; together, in one managed transaction,
they do what services._write_document_tx does for one document, for all of them. The namespace and all
values are parameters.
"""

UPSERT_DOCUMENTS = """
UNWIND $docs AS row
MERGE (d:Document {namespace: $namespace, document_id: row.document_id})
  ON CREATE SET d.created = datetime()
SET d.title = row.title, d.source = row.source, d.content_hash = row.content_hash, d.updated = datetime(),
    d.graph_format = $graph_format
"""

# Removes the group's documents from every edge they contributed to (found through their mentions); edges
# left with no contributor are deleted. Each edge is changed once (DISTINCT), with its two concepts locked.
WITHDRAW = """
UNWIND $ids AS id
MATCH (:Document {namespace: $namespace, document_id: id})-[:MENTIONS]->(c:Concept)-[r:RELATED_TO]-(:Concept)
WHERE any(doc IN r.docs WHERE doc IN $ids)
WITH DISTINCT r
MATCH (x:Concept)-[r]->(y:Concept)
SET x.updated = x.updated, y.updated = y.updated
WITH r, [i IN range(0, size(r.docs) - 1) WHERE NOT r.docs[i] IN $ids] AS keep
WITH r, [i IN keep | r.docs[i]] AS docs, [i IN keep | r.doc_weights[i]] AS weights
SET r.docs = docs, r.doc_weights = weights, r.weight = reduce(total = 0.0, w IN weights | total + w)
WITH r, docs WHERE size(docs) = 0
DELETE r
RETURN count(*) AS edges_removed
"""

# Mentions a document no longer has; returns the concepts they pointed to.
DROP_STALE_MENTIONS = """
UNWIND $docs AS row
MATCH (:Document {namespace: $namespace, document_id: row.document_id})-[stale:MENTIONS]->(old:Concept)
WHERE NOT old.name IN row.names
WITH stale, old.name AS name
DELETE stale
RETURN collect(DISTINCT name) AS dropped
"""

LINK_CONCEPTS = """
UNWIND $rows AS row
MATCH (d:Document {namespace: $namespace, document_id: row.document_id})
MERGE (c:Concept {namespace: $namespace, name: row.name})
  ON CREATE SET c.created = datetime()
SET c.updated = datetime()
MERGE (d)-[m:MENTIONS]->(c)
SET m.count = row.count
RETURN count(m) AS linked
"""

# The contributions other documents keep on the edges the group writes (after WITHDRAW: none of the group's).
# Both concepts were written by LINK_CONCEPTS in this transaction, so they are locked until it ends.
READ_EDGES = """
UNWIND $pairs AS pair
MATCH (:Concept {namespace: $namespace, name: pair[0]})-[r:RELATED_TO]->(:Concept {namespace: $namespace, name: pair[1]})
RETURN pair[0] AS a, pair[1] AS b, r.docs AS docs, r.doc_weights AS weights
"""

# Sets each edge's whole contributor list (sorted by document id, merged in Python from READ_EDGES and the
# group's contributions); SET, never +=, so a replayed transaction writes the same lists.
SET_EDGES = """
UNWIND $rows AS row
MATCH (a:Concept {namespace: $namespace, name: row.a})
MATCH (b:Concept {namespace: $namespace, name: row.b})
MERGE (a)-[r:RELATED_TO]->(b)
SET r.docs = row.docs, r.doc_weights = row.weights,
    r.weight = reduce(total = 0.0, w IN row.weights | total + w)
RETURN count(r) AS related
"""

"""The Cypher of document writes (graphstore.documents runs them in one managed transaction).

Every statement handles a whole group with UNWIND, so one document is a group of one and shares the plan:
the text never depends on the group's size or content, only the parameters do (Neo4j caches one plan per
text). The namespace and all values are parameters.

Every lookup of a Document or Concept names its (namespace, id) index with USING INDEX SEEK, so the plan is
the same whatever the statistics were when Neo4j compiled it. Without the hints, plans compiled while the
graph was small (a new server's first ingest, a namespace just wiped) sometimes scanned the whole index for
each row (MENTIONS on 64 documents: 20,544 db hits instead of 64, in about half of the compilations seen),
and Neo4j keeps a cached plan until its statistics have changed enough and min_replan_interval has passed.
(`USING INDEX` alone is not enough: an index scan also uses the index.)

Costs (PROFILE, the Django docs tree in groups of 64): an edge is found from its two concepts, each seeked
in the (namespace, name) index, then Expand(Into) between them (MATCH the two nodes first: written as one
pattern the planner seeked one end and expanded all of its edges, which for a frequent concept is
thousands). A document's old contributions are found the same way, through the pairs of the concepts it
mentioned (at most EXTRACTOR_MAX_CONCEPTS choose 2), never by expanding every edge of those concepts.
"""

# Returns the ids whose node was there before: only they can have mentions and contributions to replace.
UPSERT_DOCUMENTS = """
UNWIND $docs AS row
OPTIONAL MATCH (old:Document {namespace: $namespace, document_id: row.document_id})
  USING INDEX SEEK old:Document(namespace, document_id)
WITH row, old IS NOT NULL AS existed
MERGE (d:Document {namespace: $namespace, document_id: row.document_id})
  ON CREATE SET d.created = datetime()
SET d.title = row.title, d.source = row.source, d.content_hash = row.content_hash, d.updated = datetime(),
    d.graph_format = $graph_format
RETURN collect(CASE WHEN existed THEN row.document_id END) AS existing
"""

DOCUMENTS_FOUND = """
UNWIND $ids AS id
MATCH (d:Document {namespace: $namespace, document_id: id})
  USING INDEX SEEK d:Document(namespace, document_id)
RETURN collect(d.document_id) AS found
"""

MENTIONS = """
UNWIND $ids AS id
MATCH (d:Document {namespace: $namespace, document_id: id})
  USING INDEX SEEK d:Document(namespace, document_id)
MATCH (d)-[:MENTIONS]->(c:Concept)
RETURN id AS document_id, collect(c.name) AS names
"""

# The RELATED_TO edge (either direction) between the two concepts of each of $pairs: [name, name].
EDGES_OF_PAIRS = """
UNWIND $pairs AS pair
MATCH (x:Concept {namespace: $namespace, name: pair[0]})
  USING INDEX SEEK x:Concept(namespace, name)
MATCH (y:Concept {namespace: $namespace, name: pair[1]})
  USING INDEX SEEK y:Concept(namespace, name)
MATCH (x)-[r:RELATED_TO]-(y)"""

DELETE_EDGES = EDGES_OF_PAIRS + """
DELETE r
RETURN count(r) AS removed
"""

# Removes the entries of the documents `$ids` from the edges between these concept pairs; edges left with no
# contributor are deleted. The two concepts are written (a no-op SET takes their write locks) before the
# lists are read and rewritten, so two writers never interleave on one edge (docs/graph.md).
WITHDRAW = EDGES_OF_PAIRS + """
WHERE any(doc IN r.docs WHERE doc IN $ids)
SET x.updated = x.updated, y.updated = y.updated
WITH r, [i IN range(0, size(r.docs) - 1) WHERE NOT r.docs[i] IN $ids] AS keep
WITH r, [i IN keep | r.docs[i]] AS docs, [i IN keep | r.doc_weights[i]] AS weights
SET r.docs = docs, r.doc_weights = weights, r.weight = reduce(total = 0.0, w IN weights | total + w)
WITH r, docs WHERE size(docs) = 0
DELETE r
RETURN count(*) AS edges_removed
"""

# Deletes the mentions row.names of each document; returns nothing (DELETE_UNMENTIONED follows).
DROP_MENTIONS = """
UNWIND $rows AS row
MATCH (d:Document {namespace: $namespace, document_id: row.document_id})
  USING INDEX SEEK d:Document(namespace, document_id)
MATCH (d)-[m:MENTIONS]->(c:Concept)
WHERE c.name IN row.names
DELETE m
"""

DELETE_UNMENTIONED = """
UNWIND $names AS name
MATCH (c:Concept {namespace: $namespace, name: name})
  USING INDEX SEEK c:Concept(namespace, name)
WHERE NOT EXISTS { MATCH (c)<-[:MENTIONS]-(:Document) }
DETACH DELETE c
RETURN count(*) AS removed
"""

LINK_CONCEPTS = """
UNWIND $rows AS row
MATCH (d:Document {namespace: $namespace, document_id: row.document_id})
  USING INDEX SEEK d:Document(namespace, document_id)
MERGE (c:Concept {namespace: $namespace, name: row.name})
  ON CREATE SET c.created = datetime()
SET c.updated = datetime()
MERGE (d)-[m:MENTIONS]->(c)
SET m.count = row.count
RETURN count(m) AS linked
"""

# One row per edge (a < b) with the group's contributions to it (row.docs sorted, row.weights parallel).
# The edge's entries of the documents `$replaced` (the group's documents that existed: their old part) are
# dropped, then each of the row's entries is put in its sorted place, replacing an entry of the same
# document: so `docs` stays sorted and a replayed transaction writes the same lists. Both concepts were
# written by LINK_CONCEPTS in this transaction (a document relates only concepts it mentions), so they are
# locked until it ends.
SET_EDGES = """
UNWIND $rows AS row
MATCH (a:Concept {namespace: $namespace, name: row.a})
  USING INDEX SEEK a:Concept(namespace, name)
MATCH (b:Concept {namespace: $namespace, name: row.b})
  USING INDEX SEEK b:Concept(namespace, name)
MERGE (a)-[r:RELATED_TO]->(b)
WITH r, row, coalesce(r.docs, []) AS docs, coalesce(r.doc_weights, []) AS weights
WITH r, reduce(entries = [i IN range(0, size(docs) - 1) WHERE NOT docs[i] IN $replaced | [docs[i], weights[i]]],
               i IN range(0, size(row.docs) - 1) |
               [e IN entries WHERE e[0] < row.docs[i]] + [[row.docs[i], row.weights[i]]]
               + [e IN entries WHERE e[0] > row.docs[i]]) AS entries
SET r.docs = [e IN entries | e[0]], r.doc_weights = [e IN entries | e[1]],
    r.weight = reduce(total = 0.0, e IN entries | total + e[1])
RETURN count(r) AS related
"""

DETACH_DOCUMENT = """
MATCH (d:Document {namespace: $namespace, document_id: $document_id})
  USING INDEX SEEK d:Document(namespace, document_id)
OPTIONAL MATCH (d)-[:MENTIONS]->(c:Concept)
WITH d, collect(c.name) AS names
DETACH DELETE d
RETURN names
"""

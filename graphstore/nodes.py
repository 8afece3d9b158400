"""The graph's shape as neomodel classes.

Writes go through services.py (batched, idempotent Cypher); these classes document the model and serve
ad-hoc reads. Timestamps are native Neo4j datetimes so Cypher's `datetime()` and neomodel agree on the type.

Every node carries the deployment's `namespace`; identities are unique per namespace, by composite
constraints that graphstore.schema declares and services.install_constraints creates. neomodel cannot
declare a composite constraint, so no property here has unique_index/index: neomodel's install_labels
would otherwise create the single-property constraints that stop two namespaces sharing a concept name.
Ad-hoc neomodel reads must filter on namespace themselves (e.g. Concept.nodes.get(namespace=ns, name=n)).
"""

from neomodel import (
    ArrayProperty,
    DateTimeNeo4jFormatProperty,
    FloatProperty,
    IntegerProperty,
    Relationship,
    RelationshipFrom,
    RelationshipTo,
    StringProperty,
    StructuredNode,
    StructuredRel,
)

# Labels and relationship types, the only ones Cypher built by this app may contain.
CONCEPT = "Concept"
DOCUMENT = "Document"
MENTIONS = "MENTIONS"
RELATED_TO = "RELATED_TO"


class Mentions(StructuredRel):
    """Document -MENTIONS-> Concept; `count` is how often the document mentions the concept."""

    count = IntegerProperty(default=1)


class RelatedTo(StructuredRel):
    """Concept -RELATED_TO- Concept, undirected in meaning; stored once, from the smaller name to the larger.

    Derived from the documents: `docs` (sorted ids) and `doc_weights` are parallel lists, each document's
    co-occurrence count for the pair; `weight` is their sum. Every contributor mentions both concepts.
    """

    weight = FloatProperty(default=1.0)
    docs = ArrayProperty(StringProperty())
    doc_weights = ArrayProperty(FloatProperty())


class Concept(StructuredNode):
    namespace = StringProperty(required=True)
    name = StringProperty(required=True)
    created = DateTimeNeo4jFormatProperty()
    updated = DateTimeNeo4jFormatProperty()

    documents = RelationshipFrom("Document", MENTIONS, model=Mentions)
    related = Relationship("Concept", RELATED_TO, model=RelatedTo)


class Document(StructuredNode):
    namespace = StringProperty(required=True)
    document_id = StringProperty(required=True)
    title = StringProperty()
    source = StringProperty()
    content_hash = StringProperty()
    graph_format = IntegerProperty()  # schema.GRAPH_FORMAT of the write that made it
    created = DateTimeNeo4jFormatProperty()
    updated = DateTimeNeo4jFormatProperty()

    concepts = RelationshipTo("Concept", MENTIONS, model=Mentions)

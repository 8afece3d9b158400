"""The graph's shape as neomodel classes.

Writes go through services.py (batched, idempotent Cypher); these classes document the model, let
neomodel's label installation agree with ours (same constraint names) and serve ad-hoc reads.
Timestamps are native Neo4j datetimes so Cypher's `datetime()` and neomodel agree on the type.
"""

from neomodel import (
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
    """Concept -RELATED_TO- Concept, undirected in meaning; stored once, from the smaller name to the larger."""

    weight = FloatProperty(default=1.0)


class Concept(StructuredNode):
    name = StringProperty(unique_index=True, required=True)
    created = DateTimeNeo4jFormatProperty()
    updated = DateTimeNeo4jFormatProperty()

    documents = RelationshipFrom("Document", MENTIONS, model=Mentions)
    related = Relationship("Concept", RELATED_TO, model=RelatedTo)


class Document(StructuredNode):
    document_id = StringProperty(unique_index=True, required=True)
    title = StringProperty()
    source = StringProperty()
    content_hash = StringProperty()
    created = DateTimeNeo4jFormatProperty()
    updated = DateTimeNeo4jFormatProperty()

    concepts = RelationshipTo("Concept", MENTIONS, model=Mentions)

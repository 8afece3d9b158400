"""A search corpus written straight through the store services (not the ingestion pipeline), with the
contract's id conventions, so retrieval tests do not depend on ingestion.

The main corpus is built so each source has something only it can find, for the query QUERY with the
offline hashing embedder (checked by the tests themselves, not assumed):
- "ann-seed" matches the query's words: vector rank 1, keyword rank 1; it MENTIONS "hnsw".
- 28 "filler-NN" documents share letter trigrams but no word stem with the query: they fill the vector
  candidate pool (20) and never match the full-text query.
- "kw-only" contains the rare token "zyxquorum" in a long, unrelated text: found by keyword search only.
- "graph-only" shares no word with the query; it MENTIONS "small world", RELATED_TO "hnsw": found only
  by graph expansion from "ann-seed".
A RELATED_TO edge exists only as some document's co-occurrence (graphstore keeps the graph a function of the
documents), so `relations` are contributed by a Neo4j-only document, LINKS_DOCUMENT, that mentions their
concepts; it has no chunks, so search can never return it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest

from graphstore import services as graph_services
from textmodels.embedders import get_embedder
from rag_data.models import Chunk, Document
from vectorstore.services import ensure_collection, upsert_chunks

QUERY = "approximate nearest neighbour search zyxquorum"
TOPICS = [
    "gardening tomatoes", "medieval castles", "jazz improvisation", "sourdough baking", "river kayaking",
    "chess openings", "glacier formation", "violin making", "desert ecology", "bicycle repair", "coral reefs",
    "opera history", "tea ceremonies", "volcano monitoring", "origami folding", "bee keeping",
    "submarine design", "typography", "wool dyeing", "lighthouse keeping", "rock climbing", "cheese aging",
    "comet orbits", "paper marbling", "salt marshes", "clock repair", "kite flying", "jade carving",
]


LINKS_DOCUMENT = "concept-links"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def chunk_id_for(document_id: str, ordinal: int, text: str) -> str:
    return f"{sha256(document_id)[:16]}-{ordinal:05d}-{sha256(text)[:16]}"


@dataclass
class SeedDoc:
    document_id: str
    texts: list[str]
    concepts: dict[str, int] = field(default_factory=dict)
    metadata: dict = field(default_factory=dict)
    status: str = Document.Status.COMPLETE


def seed(docs: list[SeedDoc], relations=(), *, milvus: bool = True, neo4j: bool = True) -> dict[str, list[str]]:
    """Write `docs` to PostgreSQL (and Milvus, Neo4j); returns {document_id: [chunk ids]}."""
    complete = Document.Status.COMPLETE
    rows = Document.objects.bulk_create([
        Document(document_id=d.document_id, source_path=f"{d.document_id}.md", title=d.document_id,
                 content_hash=sha256("\n".join(d.texts)), status=d.status, in_postgres=True,
                 in_milvus=d.status == complete or milvus, in_neo4j=d.status == complete or neo4j)
        for d in docs
    ])
    chunks, ids = [], {}
    for doc, row in zip(docs, rows):
        for ordinal, text in enumerate(doc.texts):
            chunk = Chunk(chunk_id=chunk_id_for(doc.document_id, ordinal, text), document=row, ordinal=ordinal,
                          text=text, content_hash=sha256(text))
            chunks.append((doc, chunk))
            ids.setdefault(doc.document_id, []).append(chunk.chunk_id)
    Chunk.objects.bulk_create([chunk for _, chunk in chunks])
    if milvus:
        write_vectors(chunks)
    if neo4j:
        graph_services.install_constraints()
        for doc in docs:
            graph_services.upsert_document(doc.document_id, doc.document_id, f"{doc.document_id}.md", None)
            graph_services.link_document_concepts(doc.document_id, doc.concepts, replace=True)
        if relations:
            names = {name: 1 for a, b, _ in relations for name in (a, b)}
            graph_services.write_document(LINKS_DOCUMENT, None, None, None, names, relations)
    return ids


def write_vectors(chunks) -> None:
    ensure_collection()
    embeddings = get_embedder().embed([chunk.text for _, chunk in chunks])
    upsert_chunks([
        {"chunk_id": chunk.chunk_id, "document_id": doc.document_id, "embedding": vector,
         "metadata": {"source": f"{doc.document_id}.md", "title": doc.document_id, "ordinal": chunk.ordinal,
                      "ext": "md", **doc.metadata}}
        for (doc, chunk), vector in zip(chunks, embeddings)
    ])


def main_corpus() -> list[SeedDoc]:
    docs = [SeedDoc("ann-seed", ["Approximate nearest neighbour search with HNSW builds a layered proximity "
                                 "graph over the vectors."], concepts={"hnsw": 2})]
    docs += [SeedDoc(f"filler-{i:02d}", [f"Neighbourhood proximities and nearby searchlights over {topic}."])
             for i, topic in enumerate(TOPICS)]
    docs.append(SeedDoc("kw-only", [
        "Appendix: the zyxquorum constant appears in tables of pottery glaze recipes, kiln temperatures, clay "
        "bodies, firing schedules, studio notes, brush care, wax resist methods and shelf layouts for drying "
        "greenware pots."]))
    docs.append(SeedDoc("graph-only", ["Milgram's letters reached strangers in six steps through acquaintances."],
                        concepts={"small world": 1}))
    return docs


MAIN_RELATIONS = [("hnsw", "small world", 3.0)]


@pytest.fixture
def corpus(milvus_backend, neo4j_store):
    """The main corpus in all three stores (import it where a test module needs it: a pytest fixture)."""
    return seed(main_corpus(), MAIN_RELATIONS)

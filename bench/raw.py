"""The raw baselines: each store's own client doing the writes the project does, with nothing around them.

The rows are the project's own (ids, texts, vectors, concepts computed by the project's pure functions,
outside the timed part); only the store calls are timed. Milvus: `insert` of the same rows in batches of
as many rows as the project's message size allows (bench.ingest). Neo4j: the same MERGE clauses the project issues, UNWIND over a batch of
documents in one transaction. PostgreSQL: COPY of the same document and chunk rows.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from bench import stack


@dataclass
class Prepared:
    """The corpus as the project would write it."""

    documents: list[dict]  # document_id, source_path, title, content_hash, ext, chunk rows, concepts, pairs
    chunk_ids: list[str]
    vectors: np.ndarray  # float32, one row per chunk id, in order

    @property
    def chunks(self) -> int:
        return len(self.chunk_ids)


def prepare(corpus_dir: Path, size: int, overlap: int) -> Prepared:
    """Documents, chunks, vectors and concepts exactly as ingestion derives them (cached next to the corpus)."""
    from ingestion import store_sync
    from ingestion.services import chunk_id_for, discover
    from ingestion.sources import chunks_for, context_for, read_source
    from textmodels.embedders import get_embedder

    from django.conf import settings

    sources, _ = discover([corpus_dir], stack.ID_PREFIX)
    documents, chunk_ids, texts = [], [], []
    for source in sources:
        extracted, content_hash = read_source(source.path, settings.INGEST_MAX_FILE_BYTES)
        ext = store_sync.extension(source.relative)
        pieces = chunks_for(extracted, size, overlap)
        rows = [(chunk_id_for(source.document_id, n, p.text, p.page), n, p.text,
                 hashlib.sha256(p.text.encode()).hexdigest(), context_for(extracted.title, p.headings))
                for n, p in enumerate(pieces)]
        documents.append({"document_id": source.document_id, "source_path": source.relative, "ext": ext,
                          "title": extracted.title, "content_hash": content_hash, "rows": rows})
        chunk_ids += [row[0] for row in rows]
        # What ingestion embeds: the chunk's context line (title, headings), then its text.
        texts += [store_sync.embedding_text(SimpleNamespace(text=row[2], context=row[4])) for row in rows]
    embedder = get_embedder()
    cache = corpus_dir.parent / f"{corpus_dir.name}.{embedder.name}.{embedder.dim}.ctx"  # .ctx: context embedded
    ids_file, vectors_file, concepts_file = (cache.with_suffix(cache.suffix + ext)
                                             for ext in (".ids.json", ".npy", ".concepts.json"))
    if ids_file.exists() and json.loads(ids_file.read_text()) == chunk_ids and concepts_file.exists():
        vectors = np.load(vectors_file)
        extracted = json.loads(concepts_file.read_text())
    else:
        vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
        extracted = [store_sync.concepts([row[2] for row in doc["rows"]]) for doc in documents]
        np.save(vectors_file, vectors)
        concepts_file.write_text(json.dumps(extracted))
        ids_file.write_text(json.dumps(chunk_ids))
    for document, (found, pairs) in zip(documents, extracted, strict=True):
        document["concepts"], document["pairs"] = found, [tuple(pair) for pair in pairs]
    return Prepared(documents, chunk_ids, vectors)


def milvus_insert(prepared: Prepared, batch: int) -> dict:
    """pymilvus `insert` of the project's rows into a fresh collection with the project's schema and index."""
    from vectorstore import schema

    client = stack.raw_milvus()
    name = stack.RAW_COLLECTION
    try:
        if client.has_collection(name):
            client.drop_collection(name)
        client.create_collection(name, schema=schema.build_schema(), consistency_level="Strong")
        client.create_index(name, schema.build_index_params())
        client.load_collection(name)
        rows, position = [], 0
        for document in prepared.documents:
            meta = {"source": document["source_path"], "title": document["title"], "ext": document["ext"]}
            for chunk_id, ordinal, text, *_ in document["rows"]:
                rows.append((chunk_id, document["document_id"], text, position, {**meta, "ordinal": ordinal}))
                position += 1
        started = time.perf_counter()
        for start in range(0, len(rows), batch):
            part = rows[start:start + batch]
            vectors = prepared.vectors[part[0][3]:part[-1][3] + 1].tolist()
            client.insert(name, [{"chunk_id": r[0], "document_id": r[1], "embedding": v,
                                  "metadata": r[4]} for r, v in zip(part, vectors)])
        seconds = time.perf_counter() - started
        return _throughput("Milvus", prepared.chunks, seconds, batch=batch, call="MilvusClient.insert")
    finally:
        # Milvus seals and indexes inserted rows in the background for tens of seconds after the inserts return
        # (at 100k: ~20 CPU-s, which fell into the next baseline and slowed it): dropped at once, so that no
        # measurement pays for this one's background work.
        if client.has_collection(name):
            client.drop_collection(name)
        client.close()


_DOCUMENTS = """
UNWIND $docs AS doc
MERGE (d:Document {namespace: $namespace, document_id: doc.document_id})
  ON CREATE SET d.created = datetime()
SET d.title = doc.title, d.source = doc.source, d.content_hash = doc.content_hash, d.updated = datetime()
"""
_MENTIONS = """
UNWIND $docs AS doc
MATCH (d:Document {namespace: $namespace, document_id: doc.document_id})
UNWIND doc.rows AS row
MERGE (c:Concept {namespace: $namespace, name: row.name})
  ON CREATE SET c.created = datetime()
SET c.updated = datetime()
MERGE (d)-[m:MENTIONS]->(c)
SET m.count = row.count
"""
# One row per concept pair of the batch with every contributing document of the batch: the edges' final
# docs/doc_weights/weight (the project's model, docs/graph.md), written with one UNWIND.
_EDGES = """
UNWIND $edges AS edge
MATCH (a:Concept {namespace: $namespace, name: edge.a})
MATCH (b:Concept {namespace: $namespace, name: edge.b})
MERGE (a)-[r:RELATED_TO]->(b)
SET r.docs = coalesce(r.docs, []) + edge.docs, r.doc_weights = coalesce(r.doc_weights, []) + edge.weights,
    r.weight = coalesce(r.weight, 0.0) + edge.total
"""


def _edges(part: list[dict]) -> list[dict]:
    """The batch's RELATED_TO contributions grouped by pair (documents in id order)."""
    from graphstore.schema import relation_rows

    grouped: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for d in sorted(part, key=lambda doc: doc["document_id"]):
        for row in relation_rows(d["pairs"]):
            grouped.setdefault((row["a"], row["b"]), []).append((d["document_id"], row["weight"]))
    return [{"a": a, "b": b, "docs": [doc for doc, _ in items], "weights": [w for _, w in items],
             "total": sum(w for _, w in items)} for (a, b), items in grouped.items()]


def neo4j_unwind(prepared: Prepared, docs_per_tx: int) -> dict:
    """The same final graph as the project writes, UNWIND over `docs_per_tx` documents per transaction."""
    from django.conf import settings

    stack.clean_graph()
    driver = stack.raw_neo4j()
    batches = []
    for start in range(0, len(prepared.documents), docs_per_tx):
        part = prepared.documents[start:start + docs_per_tx]
        docs = [{"document_id": d["document_id"], "title": d["title"], "source": d["source_path"],
                 "content_hash": d["content_hash"],
                 "rows": [{"name": n, "count": c} for n, c in d["concepts"].items()]} for d in part]
        batches.append((docs, _edges(part)))

    def work(tx, docs, edges):
        tx.run(_DOCUMENTS, docs=docs, namespace=stack.NAMESPACE).consume()
        tx.run(_MENTIONS, docs=docs, namespace=stack.NAMESPACE).consume()
        tx.run(_EDGES, edges=edges, namespace=stack.NAMESPACE).consume()

    try:
        with driver.session(database=settings.NEO4J_DATABASE) as session:
            started = time.perf_counter()
            for docs, edges in batches:
                session.execute_write(work, docs, edges)
            seconds = time.perf_counter() - started
    finally:
        driver.close()
        stack.clean_graph()
    return _throughput("Neo4j", prepared.chunks, seconds, docs_per_tx=docs_per_tx, call="UNWIND MERGE per batch")


def postgres_copy(prepared: Prepared, docs_per_tx: int) -> dict:
    """COPY of the same document and chunk rows (final state: complete), `docs_per_tx` documents per transaction."""
    stack.clean_postgres()
    conn = stack.raw_postgres()
    try:
        started = time.perf_counter()
        for start in range(0, len(prepared.documents), docs_per_tx):
            part = prepared.documents[start:start + docs_per_tx]
            with conn.cursor() as cursor:
                with cursor.copy("COPY rag_data_document (document_id, source_path, title, content_hash, "
                                 "in_postgres, in_milvus, in_neo4j, status, last_error, created_at, updated_at, "
                                 "metadata) FROM STDIN") as copy:
                    for d in part:  # metadata: NOT NULL without a database default (Django's default is {})
                        copy.write_row((d["document_id"], d["source_path"], d["title"], d["content_hash"],
                                        True, True, True, "complete", "", "now", "now", "{}"))
                cursor.execute("SELECT document_id, id FROM rag_data_document WHERE document_id = ANY(%s)",
                               ([d["document_id"] for d in part],))
                keys = dict(cursor.fetchall())
                with cursor.copy("COPY rag_data_chunk (chunk_id, document_id, ordinal, text, content_hash, context) "
                                 "FROM STDIN") as copy:
                    for d in part:
                        for chunk_id, ordinal, text, digest, context in d["rows"]:
                            copy.write_row((chunk_id, keys[d["document_id"]], ordinal, text, digest, context))
            conn.commit()
        seconds = time.perf_counter() - started
    finally:
        conn.close()
        stack.clean_postgres()
    return _throughput("PostgreSQL", prepared.chunks, seconds, docs_per_tx=docs_per_tx, call="COPY")


def _throughput(store: str, chunks: int, seconds: float, **details) -> dict:
    return {"store": store, "chunks": chunks, "seconds": round(seconds, 3),
            "chunks_per_s": round(chunks / seconds, 1) if seconds else None, **details}

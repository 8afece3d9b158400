"""Recall@10 of the project's vector stage on its own: N chunks of the benchmark corpus, ef 64 vs 256.

    python -m bench.recall_probe 100000

Inserts the corpus' vectors (offline embedder) into a scratch collection on the standalone server,
compares `vectorstore.selectors.search` (Strong reads) with exact cosine top-10 by numpy, tie-aware,
and drops the collection. Independent of the ingest pipeline's bookkeeping.
"""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ["MILVUS_URI"] = os.environ.get("BENCH_MILVUS_URI", "http://127.0.0.1:19530")

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402
from django.conf import settings  # noqa: E402

from bench import corpus  # noqa: E402
from ingestion.chunking import chunk_text  # noqa: E402
from textmodels.embedders import get_embedder  # noqa: E402
from vectorstore import client, schema, selectors, services  # noqa: E402

COLLECTION = "bench_recall_probe"


def main(size: int, queries: int = 60) -> None:
    settings.MILVUS_COLLECTION = COLLECTION
    texts = []
    for _, text, _ in corpus.documents(size, size=settings.CHUNK_SIZE, overlap=settings.CHUNK_OVERLAP):
        texts += [piece.text for piece in chunk_text(text, settings.CHUNK_SIZE, settings.CHUNK_OVERLAP)]
    texts = texts[:size]
    embedder = get_embedder()
    vectors = np.asarray(embedder.embed(texts), dtype=np.float32)
    if client.get_client().has_collection(COLLECTION):
        client.get_client().drop_collection(COLLECTION)
    services.ensure_collection()
    try:
        services.upsert_chunks([{"chunk_id": f"c{i}", "document_id": "probe",
                                 "embedding": v.tolist(), "metadata": {}} for i, v in enumerate(vectors)],
                               batch_size=1000)
        probes = [np.asarray(embedder.embed([q])[0], dtype=np.float32) for q in corpus.queries(queries)]
        default = schema.search_params
        for ef in (64, 256):
            schema.search_params = lambda k, ef=ef: {"metric_type": settings.MILVUS_METRIC_TYPE, "params": {"ef": ef}}
            recalls = []
            for query in probes:
                scores = vectors @ query
                kth = -np.partition(-scores, 9)[9]
                found = [int(h["chunk_id"][1:]) for h in selectors.search(query.tolist(), 10, consistency_level="Strong")]
                recalls.append(sum(scores[i] >= kth - 1e-6 for i in found) / 10)
            print(f"{size} chunks, ef={ef}: recall@10 mean {np.mean(recalls):.4f}, min {np.min(recalls):.2f}")
        schema.search_params = default
    finally:
        client.get_client().drop_collection(COLLECTION)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100000)

"""Milvus server CPU for `upsert` against `insert` of new primary keys (issue 14's open question).

Why: ingestion writes every group with `upsert` (idempotent: a replayed or resumed group never doubles a row),
and an earlier reading put upsert at ~2x an insert's server CPU, which made "insert the ledger-new documents" look
like the biggest cut left in the write path. This measures it directly: the same rows (the project's schema
shape: varchar key, varchar document id, FLOAT_VECTOR, JSON metadata, HNSW) written with each call into a fresh,
loaded collection, alternating, the server's CPU counted until it is quiet again (its sealing and indexing
included). Run: `python -m bench.upsert_vs_insert [--rows 20000] [--rounds 3]` against the dev stack's Milvus.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from bench import cpu

COLLECTION = "bench_upsert_vs_insert"


def _collection(client, dim: int) -> None:
    from pymilvus import DataType

    if client.has_collection(COLLECTION):
        client.drop_collection(COLLECTION)
    schema = client.create_schema(auto_id=False)
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=128, is_primary=True)
    schema.add_field("document_id", DataType.VARCHAR, max_length=128)
    schema.add_field("embedding", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("metadata", DataType.JSON)
    index = client.prepare_index_params()
    index.add_index("embedding", index_type="HNSW", metric_type="COSINE", params={"M": 16, "efConstruction": 200})
    client.create_collection(COLLECTION, schema=schema, index_params=index)
    client.load_collection(COLLECTION)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1280, help="rows per call")
    parser.add_argument("--uri", default="http://127.0.0.1:19530")
    args = parser.parse_args(argv)
    from pymilvus import MilvusClient

    client = MilvusClient(args.uri)
    pids = {"Milvus": cpu.listening_pids({"Milvus": int(args.uri.rsplit(":", 1)[1])})["Milvus"]}
    rng = random.Random(1)
    rows = [{"chunk_id": f"d{i // 20:06d}-{i:08d}", "document_id": f"d{i // 20:06d}",
             "embedding": [rng.random() for _ in range(256)], "metadata": {"ordinal": i % 20}}
            for i in range(args.rows)]
    seconds: dict[str, list[float]] = {"insert": [], "upsert": []}
    try:
        for _ in range(args.rounds):
            for operation in ("insert", "upsert"):
                _collection(client, 256)
                cpu.wait_quiet(pids)
                with cpu.measured(pids) as used:
                    started = time.perf_counter()
                    for start in range(0, len(rows), args.batch):
                        getattr(client, operation)(COLLECTION, rows[start:start + args.batch])
                    wall = time.perf_counter() - started
                    cpu.wait_quiet(pids)
                seconds[operation].append(used["servers_s"]["Milvus"])
                print(f"{operation} {args.rows} rows: {wall:.2f} s, Milvus {used['servers_s']['Milvus']} CPU-s "
                      "(until quiet again)", flush=True)
    finally:
        client.drop_collection(COLLECTION)
    for operation, values in seconds.items():
        print(f"{operation}: median {statistics.median(values):.2f} Milvus CPU-s over {len(values)} rounds")


if __name__ == "__main__":
    main()

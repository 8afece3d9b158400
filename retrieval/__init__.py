"""Hybrid search: vector (Milvus), graph (Neo4j) and keyword (PostgreSQL) legs fused by weighted RRF."""

"""Kept for modules that import the shared fixtures from here; they live in tests/fixtures.py."""

from tests.fixtures import MILVUS_SERVER_URI, milvus_backend, milvus_lite_uri, neo4j_store  # noqa: F401

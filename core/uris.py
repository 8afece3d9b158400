"""Which store URIs mean what: shared by settings validation (config.env) and the store clients."""

from __future__ import annotations

from urllib.parse import urlsplit

NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")
MILVUS_SERVER_SCHEMES = ("http", "https", "tcp", "grpc", "unix")


def is_milvus_lite(uri: str) -> bool:
    """True when a MILVUS_URI names a Milvus Lite .db file rather than a server."""
    return urlsplit(uri).scheme not in MILVUS_SERVER_SCHEMES

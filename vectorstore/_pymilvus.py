"""The one door to pymilvus and grpc: imported without letting pymilvus read our MILVUS_URI.

pymilvus parses the MILVUS_URI environment variable at import time for its legacy ORM connection and
raises when it is a Milvus Lite .db path, which is a valid value of our setting. We never use that
ORM connection (everything goes through MilvusClient in vectorstore.client), so the variable is
blanked for the duration of the import. Every vectorstore module takes pymilvus' names from here, so
no other package imports pymilvus or grpc (tests/test_import_rules.py keeps it so). pymilvus' own load_dotenv() does not override a set variable.
"""

import os
import sys


def import_pymilvus() -> None:
    if "pymilvus" in sys.modules:
        return
    saved = os.environ.get("MILVUS_URI")
    os.environ["MILVUS_URI"] = ""
    try:
        import pymilvus  # noqa: F401
    finally:
        if saved is None:
            os.environ.pop("MILVUS_URI", None)
        else:
            os.environ["MILVUS_URI"] = saved


import_pymilvus()

import grpc  # noqa: E402  (after the guarded import above)
from pymilvus import CollectionSchema, DataType, MilvusClient  # noqa: E402
from pymilvus.client.types import LoadState  # noqa: E402
from pymilvus.exceptions import MilvusException  # noqa: E402

__all__ = ["CollectionSchema", "DataType", "LoadState", "MilvusClient", "MilvusException", "grpc", "import_pymilvus"]

"""The one door to pymilvus and grpc: imported without letting pymilvus read our MILVUS_URI.

pymilvus parses the MILVUS_URI environment variable at import time for its legacy ORM connection and
raises when it is a Milvus Lite .db path, which is a valid value of our setting. We never use that
ORM connection (everything goes through MilvusClient in vectorstore.client), so the variable is
blanked for the duration of the import. Every vectorstore module takes pymilvus' names from here, so
no other package imports pymilvus or grpc (tests/test_import_rules.py keeps it so). pymilvus' own load_dotenv() does not override a set variable.
"""

import logging
import os
import sys
import warnings

# milvus-lite 2.5 imports pkg_resources (setuptools < 81, pinned), which warns on every Lite start.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)


def import_pymilvus() -> None:
    if "pymilvus" in sys.modules:
        return
    saved = os.environ.get("MILVUS_URI")
    os.environ["MILVUS_URI"] = ""
    logging_before = _pymilvus_loggers()
    try:
        import pymilvus  # noqa: F401
    finally:
        if saved is None:
            os.environ.pop("MILVUS_URI", None)
        else:
            os.environ["MILVUS_URI"] = saved
        _restore(logging_before)


def _pymilvus_loggers() -> dict[str, tuple]:
    manager = logging.Logger.manager
    return {name: (logger.level, list(logger.handlers), logger.propagate, logger.disabled)
            for name, logger in list(manager.loggerDict.items())
            if isinstance(logger, logging.Logger) and (name == "pymilvus" or name.startswith("pymilvus."))}


def _restore(before: dict[str, tuple]) -> None:
    """pymilvus 2.5 runs logging.config.dictConfig on import: its own handler on `pymilvus` (not propagating) and
    every configured `pymilvus.*` level reset. When the app's logging was configured first (Django configures it
    before importing apps), put it back, so pymilvus logs go through the app's handlers at the app's levels."""
    if "pymilvus" not in before:
        return  # not configured yet: whoever configures logging later decides
    for name in _pymilvus_loggers():
        logger = logging.getLogger(name)
        level, handlers, propagate, disabled = before.get(name, (logging.NOTSET, [], True, False))
        logger.setLevel(level)
        logger.handlers[:] = handlers
        logger.propagate, logger.disabled = propagate, disabled


import_pymilvus()

import grpc  # noqa: E402  (after the guarded import above)
from pymilvus import CollectionSchema, DataType, MilvusClient  # noqa: E402
from pymilvus.client.types import LoadState  # noqa: E402
from pymilvus.exceptions import DataNotMatchException, MilvusException  # noqa: E402

__all__ = ["CollectionSchema", "DataNotMatchException", "DataType", "LoadState", "MilvusClient", "MilvusException",
           "grpc", "import_pymilvus"]

"""Milvus readiness: the server answers, the collection exists with the expected schema, and is loaded."""

from __future__ import annotations

import dataclasses

from health_check.exceptions import ServiceUnavailable

from core.health import StoreCheck
from vectorstore import selectors


@dataclasses.dataclass(repr=False)
class MilvusCheck(StoreCheck):
    store = "milvus"

    def probe(self) -> None:
        status = selectors.collection_status(with_count=False)  # the count is a slow Strong read
        name = status["collection"]
        if not status["exists"]:
            raise ServiceUnavailable(f"collection {name!r} does not exist; run `manage.py init_stores`")
        if status["schema_differences"]:
            raise ServiceUnavailable(f"collection {name!r} differs from the expected schema: "
                                     + "; ".join(status["schema_differences"]))
        if status["load_state"] != "Loaded":
            raise ServiceUnavailable(f"collection {name!r} is not loaded (state {status['load_state']})")

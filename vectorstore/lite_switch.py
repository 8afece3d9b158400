"""What aliases and collection properties do on a server, done on Milvus Lite 2.5, which has neither.

Milvus Lite 2.5 (the one pymilvus 2.5 pairs with) answers UNIMPLEMENTED to create_alias, alter_alias,
rename_collection and alter_collection_properties. A Lite file serves one process at a time, so no other
process can be searching while these run, and Lite's data is small:
- Recording an identity on a collection created without one (vectorstore.services.record_identity): an empty
  collection is dropped and created again recording it; one that holds vectors is refused in one line.
- Switching MILVUS_COLLECTION to the collection `reembed` built (vectorstore.services.point_alias): the
  collection under MILVUS_COLLECTION's own name is created again recording the new identity, the vectors are
  copied into it from the new collection (no re-embedding), and the new collection is dropped last, so an
  interrupted switch is seen and finished by the next `reembed` (see `switch_pending`).
"""

from __future__ import annotations

from collections.abc import Callable

from vectorstore import embedder_identity, schema
from vectorstore._pymilvus import MilvusException, grpc
from vectorstore.client import VectorStoreError, call, forget_schema, translate_error
from vectorstore.selectors import count_chunks

COPY_BATCH = 1000
Create = Callable[[str, dict], None]  # create and load a collection recording an identity


def record_identity_by_recreating(name: str, identity: dict, create: Create) -> None:
    held = count_chunks(name)
    if held:
        raise VectorStoreError(
            f"collection {name!r} holds {held} vectors and Milvus Lite 2.5 cannot record an embedder on an existing "
            f"collection; rebuild it with `manage.py reembed` (the vectors are made again from PostgreSQL)")
    call("drop_collection", name)
    create(name, identity)
    forget_schema(name)


def switch_pending(base: str, target: str) -> bool:
    """True when a switch from `base` to `target` was interrupted: both still exist and `base` already records
    the identity `target` records (the copy may be incomplete)."""
    if base == target or not call("has_collection", base) or not call("has_collection", target):
        return False
    recorded = embedder_identity.recorded_identity(call("describe_collection", base))
    return recorded is not None and recorded == embedder_identity.recorded_identity(call("describe_collection", target))


def replace_by_copy(base: str, target: str, create: Create) -> None:
    """Make `base` hold what `target` holds, recording its identity; `target` is dropped once it is copied."""
    identity = embedder_identity.recorded_identity(call("describe_collection", target))
    if identity is None:
        raise VectorStoreError(f"collection {target!r} records no embedder: nothing to switch to")
    if call("has_collection", base):
        call("drop_collection", base)
    create(base, identity)
    forget_schema(base)
    iterator = call("query_iterator", target, batch_size=COPY_BATCH, filter='chunk_id != ""',
                    output_fields=["chunk_id", "document_id", schema.VECTOR_FIELD, "metadata"],
                    consistency_level="Strong")
    try:
        while batch := iterator.next():
            rows = [{"chunk_id": row["chunk_id"], "document_id": row["document_id"],
                     schema.VECTOR_FIELD: [float(x) for x in row[schema.VECTOR_FIELD]],
                     "metadata": row.get("metadata") or {}} for row in batch]
            call("upsert", base, rows)
    except (MilvusException, grpc.RpcError) as error:
        raise translate_error(error, "query_iterator", (target,)) from error
    finally:
        iterator.close()
    call("drop_collection", target)
    forget_schema(target)

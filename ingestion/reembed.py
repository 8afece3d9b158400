"""Rebuild every vector with the configured embedder into a new collection, then switch MILVUS_COLLECTION to it.

Why an alias: the servers (standalone 2.3.5, 2.5) and Lite 3.2 support Milvus aliases and resolve them in
every call, so nothing else has to learn where the vectors live and every process sees the switch at once.
A marker in PostgreSQL would have made every Milvus caller look the name up (and cache it, going stale).
Milvus Lite 2.5 has no aliases: there the switch copies the new vectors under MILVUS_COLLECTION's own name
(vectorstore/lite_switch.py; a Lite file serves one process, so nobody searches meanwhile).

- The new collection is `<MILVUS_COLLECTION>__<10 hex of the embedder identity and schema version>`,
  created recording that identity with the current schema. A collection of an older schema (one that
  kept the chunk text in `content`) is rebuilt even when its embedder is the configured one: that is
  how existing collections lose the field. Search keeps using the old collection (through MILVUS_COLLECTION) until the end.
- Source: the chunk texts of every *complete* document in PostgreSQL, read in chunk_id order, embedded
  and upserted in batches, with the same rows ingest writes (store_sync.milvus_rows).
- Resumable: a rerun after an interruption finds the new collection and skips the chunk ids it holds.
- Catch-up: before switching, chunks that appeared meanwhile (documents ingested with the old embedder
  during the rebuild) are embedded too and chunks that disappeared are removed.
- Switch: MILVUS_COLLECTION becomes an alias of the new collection; the previous collection is dropped
  (--keep-old keeps it when it was behind an alias). The first switch has to drop the original real
  collection to free its name for the alias: searches in those milliseconds get "collection does not exist".
- After the switch, processes still configured with the old embedder are refused (within
  vectorstore.selectors.IDENTITY_RECHECK_SECONDS): restart them with the new EMBEDDER.
Documents that are pending or failed are not copied: `manage.py reconcile` rewrites them afterwards.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import groupby

from django.conf import settings

from ingestion import store_sync
from rag_data.models import Chunk, Document


class ReembedError(Exception):
    """Reembed cannot go on; the message says why and what to do."""


@dataclass
class ReembedReport:
    collection: str
    target: str
    identity: dict
    outcome: str = ""  # "switched", "up to date", "adopted"
    embedded: int = 0
    resumed: int = 0  # chunks already in the new collection from an interrupted run
    removed: int = 0
    previous: str | None = None
    previous_dropped: bool = False
    notes: list[str] = field(default_factory=list)


def target_name(base: str, identity: dict) -> str:
    from vectorstore.schema import SCHEMA_VERSION

    key = {**identity, "schema": SCHEMA_VERSION}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:10]
    return f"{base[:240]}__{digest}"


def reembed(batch_size: int = 256, keep_old: bool = False, adopt: bool = False,
            progress: Callable[[int], object] | None = None, total_hook: Callable[[int, int], object] | None = None
            ) -> ReembedReport:
    """Rebuild and switch (see the module docstring). `progress(n)` is told of every n chunks embedded;
    `total_hook(total, already_done)` once the work is known."""
    from vectorstore import embedder_identity, schema, selectors, services
    from vectorstore.client import call

    base = settings.MILVUS_COLLECTION
    identity = embedder_identity.expected_identity()
    target = target_name(base, identity)
    report = ReembedReport(collection=base, target=target, identity=identity)
    active = selectors.resolve_collection(base)
    described = call("describe_collection", base) if active else {}
    recorded = embedder_identity.recorded_identity(described) if active else None
    legacy = bool(schema.legacy_fields(described)) if active else False
    report.previous = active

    if adopt:
        if active is None:
            raise ReembedError(f"collection {base!r} does not exist: nothing to adopt")
        if recorded is not None:
            raise ReembedError(f"collection {base!r} already records {embedder_identity.describe_identity(recorded)}; "
                               f"--adopt only records an embedder on a collection that records none")
        services.record_identity(active, identity)
        selectors.forget_verified_embedders()
        report.outcome = "adopted"
        return report
    if (active is not None and recorded is not None and not legacy
            and embedder_identity.identity_problem(base, recorded, identity) is None
            and not services.switch_pending(base, target)):
        report.outcome = "up to date"
        return report
    if active == target:
        raise ReembedError(f"collection {base!r} already names {target!r}, which records another embedder "
                           f"or has an older schema")

    if selectors.resolve_collection(target) == target:
        differences = schema.schema_differences(call("describe_collection", target))
        problem = embedder_identity.identity_problem(target, embedder_identity.recorded_identity(call("describe_collection", target)),
                                          identity)
        if differences or problem:
            raise ReembedError(f"collection {target!r} (left by an earlier reembed) does not match: "
                               f"{'; '.join(differences) or problem}; drop it and run reembed again")
    else:
        services.create_collection(target, identity)
    services._load(target)  # noqa: SLF001 -- the same load ensure_collection does
    done = selectors.chunk_ids_in(target)

    for round_number in range(3):  # the full pass, then catch-up passes for what changed meanwhile
        wanted = set(_complete_chunk_ids())
        missing = sorted(wanted - done)
        if round_number == 0:
            report.resumed = len(done & wanted)
            if total_hook:
                total_hook(len(wanted), report.resumed)
        if not missing:
            break
        for start in range(0, len(missing), batch_size):
            ids = missing[start:start + batch_size]
            written = _embed_and_write(ids, target)
            done.update(ids)
            report.embedded += written
            if progress:
                progress(len(ids))
    stale = done - set(_complete_chunk_ids())
    if stale:
        report.removed = services.delete_chunks(sorted(stale), collection=target)

    previous = services.point_alias(base, target)
    report.outcome = "switched"
    if previous and previous != target and not keep_old:
        call("drop_collection", previous)
        report.previous_dropped = True
    elif active == base:
        report.previous_dropped = True  # the original real collection had to go to free the name
    skipped = Document.objects.exclude(status=Document.Status.COMPLETE).count()
    if skipped:
        report.notes.append(f"{skipped} document(s) not complete were not copied; run `manage.py reconcile`")
    return report


def _complete_chunk_ids() -> list[str]:
    return list(Chunk.objects.filter(document__status=Document.Status.COMPLETE).order_by("chunk_id")
                .values_list("chunk_id", flat=True))


def _embed_and_write(chunk_ids: list[str], target: str) -> int:
    from vectorstore import services

    chunks = list(Chunk.objects.filter(chunk_id__in=chunk_ids).select_related("document")
                  .order_by("document_id", "ordinal"))
    vectors = store_sync.embed([store_sync.embedding_text(chunk) for chunk in chunks])
    rows, position = [], 0
    for _, group in groupby(chunks, key=lambda chunk: chunk.document_id):
        group = list(group)
        rows.extend(store_sync.milvus_rows(group[0].document, group, vectors[position:position + len(group)]))
        position += len(group)
    return services.upsert_chunks(rows, batch_size=store_sync.MILVUS_BATCH, collection=target)

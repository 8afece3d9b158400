"""Groups written one after the other, each group's Neo4j write overlapping the next group's PostgreSQL and
Milvus writes (a pipeline of depth one; ingestion.services feeds it, ingestion.groups writes one group).

Group N+1, in the caller's thread: its document locks, plan, begin_group (N+1's rows pending in
PostgreSQL), then N is landed (wait for N's graph write, record N's outcome in the ledger with one UPDATE,
let go of N's locks), then N+1's Neo4j write starts in the graph thread while its Milvus write runs in
the caller's. N+1 is landed the same way by the next group, or by finish(). So at most two groups are in
hand, graph writes stay in order (one graph thread), and:

- a document's lock is held from before its plan until its outcome is in the ledger (the locks live on the
  caller's connection; the graph thread's own connection only takes the namespace's graph lock, inside);
- while it holds N's locks, the writer asks for N+1's without waiting (all or none); if another writer
  holds some, N is landed and let go before N+1's are waited for, so a writer never waits for locks while
  holding others and two ingests cannot deadlock. A document of N+1 that is also in N waits for N likewise;
- every ledger write is on the caller's thread; a document is complete only when both stores have it, and
  a failure leaves it pending or failed with the flags of the stores written (ledger.record_group).
"""

from __future__ import annotations

import contextlib
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import DatabaseError, connection, connections

from core.retry import describe_error
from ingestion import groups
from rag_data import ledger

Landed = tuple[list, list]  # (a group's items, per item not skipped: the store whose outage failed it, or None)


@dataclass
class _Held:
    """A group under its locks, its outcome so far, and its writes in flight (if any)."""
    items: list
    live: list
    ids: set[str]
    locks: contextlib.ExitStack
    outcome: dict = field(default_factory=dict)
    flight: groups.Flight | None = None


class Writer:
    """Writes groups through the stores, overlapped as the module docstring says; close() it at the end."""

    def __init__(self, report, clock, on_landed):
        self.report, self.clock, self.on_landed = report, clock, on_landed
        self.graphs = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-graph")
        self._held: _Held | None = None

    def write(self, items: list) -> None:
        """Write one group (its graph write may still run when this returns). Each group is passed to
        on_landed(items, outcomes) as soon as it is finished, in the order they were given."""
        live = [item for item in items if item.skip is None]
        ids = {item.source.document_id for item in live}
        if not live or (self._held is not None and ids & self._held.ids):
            self.finish()
        if not live:
            self.on_landed(items, [])
            return
        locks = contextlib.ExitStack()
        try:
            if self._held is None and not connection.in_atomic_block:
                # PostgreSQL may have restarted. Never while a group is held: closing an obsolete (CONN_MAX_AGE)
                # connection would let that group's locks go with it.
                connection.close_if_unusable_or_obsolete()
            try:
                locks.enter_context(ledger.documents_lock(ids, wait=self._held is None))
            except ledger.LocksBusy:  # never wait for locks while holding others: let the previous group go
                self.finish()
                locks.enter_context(ledger.documents_lock(ids))
        except DatabaseError as error:  # the locks could not be taken: PostgreSQL is the problem
            self.finish()
            for item in live:
                groups.failed(self.report, item, f"PostgreSQL: {describe_error(error)}", True)
            self.on_landed(items, ["PostgreSQL"] * len(live))
            return
        held = _Held(items, live, ids, locks)
        try:
            held.outcome, writing = groups.sort(live, self.report, self.clock)
            if writing:
                try:
                    held.flight = groups.launch(writing, self.clock, self.graphs,
                                                before_graph=self.finish)
                except groups.StepFailed as failure:  # begin_group: nothing of this group written anywhere
                    self.finish()
                    held.outcome.update(groups.failed_group(writing, failure, str(failure), self.report,
                                                            self.clock, self.graphs))
        except BaseException:
            locks.close()
            raise
        if held.flight is None:  # done already: reported after the previous group, in order
            self.finish()
            held.locks.close()
            self.on_landed(*_result(held))
        else:
            self._held = held

    def finish(self) -> None:
        """Land the group in flight, if any: its outcome recorded, its locks let go, on_landed told."""
        held, self._held = self._held, None
        if held is None:
            return
        try:
            if held.flight is not None:
                held.outcome.update(groups.land(held.flight, self.report, self.clock, self.graphs))
        finally:
            if held.flight is not None:
                futures.wait([held.flight.graph])  # (interrupted) never let locks go under a running graph write
            held.locks.close()
        self.on_landed(*_result(held))

    def close(self) -> None:
        """Land what is in flight, then end the graph thread and close its database connection."""
        try:
            self.finish()
        finally:
            try:
                self.graphs.submit(connections.close_all).result()
            finally:
                self.graphs.shutdown()


def _result(held: _Held) -> Landed:
    return held.items, [held.outcome.get(id(item)) for item in held.live]

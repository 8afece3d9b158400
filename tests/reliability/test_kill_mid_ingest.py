"""Each engine SIGKILLed mid-ingest and restarted: after `reconcile` (and re-running the ingest, which is
idempotent) PostgreSQL, Milvus and Neo4j hold exactly the same documents and chunks, none lost or doubled.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connections

from ingestion.services import ingest_paths
from rag_data.models import Document
from ingestion.reconcile import reconcile
from tests.integration.engines import eventually
from tests.reliability import support

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

FILES = 60
KILL_AFTER = 12


def _reachable() -> bool:
    from graphstore import client as graph
    from ingestion.store_sync import prepare_stores

    try:
        connections.close_all()
        prepare_stores()
        graph.read("RETURN 1")
        return True
    except Exception:
        return False


@pytest.mark.parametrize("store", ["postgres", "neo4j", "milvus"])
def test_engine_killed_mid_ingest_then_reconcile_leaves_identical_stores(store, settings, tmp_path):
    prefix, collection = support.unique("kill"), support.unique("rel_kill_")
    support.small_settings(settings, collection)
    support.write_corpus(tmp_path / "corpus", FILES)
    progress: list[int] = []
    result: dict = {}

    def run_ingest():
        try:
            result["report"] = ingest_paths([tmp_path / "corpus"], id_prefix=prefix,
                                            progress=lambda done, total, path: progress.append(done))
        except Exception as error:  # e.g. StoreFailure: reported below
            result["error"] = error
        finally:
            connections.close_all()

    try:
        worker = threading.Thread(target=run_ingest)
        worker.start()
        assert eventually(lambda: len(progress) >= KILL_AFTER, timeout=120, interval=0.05), progress[-1:]
        killed_at = time.monotonic()
        restart = support.kill_and_restart(store)
        worker.join(timeout=180)
        assert not worker.is_alive(), "ingest hung after the kill"
        connections.close_all()  # the test's own connection died with PostgreSQL
        report = result.get("report")
        # Whatever the crash left, no document is complete unless it is in all three stores.
        for document in Document.objects.filter(document_id__startswith=prefix, status="complete"):
            assert document.in_postgres and document.in_milvus and document.in_neo4j

        # The app's cached clients recover by themselves: no milvus_connection().close()/graph_connection().close() here.
        assert eventually(_reachable, timeout=120, interval=1), f"{store} did not come back"
        fixed = reconcile()
        assert not fixed.failed, fixed.failed
        again = ingest_paths([tmp_path / "corpus"], id_prefix=prefix)
        assert not again.failed, again.failed
        recovered = time.monotonic() - killed_at
        found = support.assert_identical(prefix, expected_documents=FILES)
        assert reconcile(dry_run=True).repaired == [] and not [
            d for d in reconcile(dry_run=True).incomplete if d.startswith(prefix)]
        support.TIMINGS[f"kill {store}: restart"] = restart
        support.TIMINGS[f"kill {store}: kill -> all {FILES} documents identical"] = recovered
        print(f"\nkill {store}: ingest {report.counts() if report else result.get('error')!r}; "
              f"reconcile repaired {len(fixed.repaired)}, orphans {len(fixed.orphan_milvus_chunks)}; "
              f"re-ingest {again.counts()}; restart {restart:.1f}s, identical after {recovered:.1f}s; "
              f"{sum(len(c) for c in found['postgres'].values())} chunks")
    finally:
        support.drop_everything(prefix, collection)

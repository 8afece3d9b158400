"""Each engine SIGKILLed (or SIGSTOPped for a while) mid-ingest, in the middle of a group of documents: after
`reconcile` (and re-running the ingest, which is idempotent) PostgreSQL, Milvus and Neo4j hold exactly the
same documents and chunks, none lost or doubled, and no document is complete unless all three hold it.
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
GROUP = 8  # INGEST_GROUP_SIZE: the kill lands while the third or a later group of 8 is being written
PAUSE_SECONDS = 8.0  # longer than the timeouts and retry budget of support.small_settings


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


@pytest.mark.parametrize("fault", ["kill", "pause"])
@pytest.mark.parametrize("store", ["postgres", "neo4j", "milvus"])
def test_engine_killed_mid_ingest_then_reconcile_leaves_identical_stores(store, fault, settings, tmp_path):
    prefix, collection = support.unique(fault), support.unique(f"rel_{fault}_")
    support.small_settings(settings, collection)
    settings.INGEST_GROUP_SIZE = GROUP
    settings.NEO4J_TIMEOUT = 5.0  # a group's graph transaction on a busy machine can outlast 2 s (+2 s of retries)
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
        eventually(lambda: len(progress) >= KILL_AFTER or not worker.is_alive(), timeout=300, interval=0.05)
        assert len(progress) >= KILL_AFTER, f"the ingest did not get going: {progress[-1:]} {result or ''}"
        killed_at = time.monotonic()
        if fault == "kill":
            restart = support.kill_and_restart(store)
        else:
            with support.frozen(store):
                time.sleep(PAUSE_SECONDS)
            restart = PAUSE_SECONDS
        worker.join(timeout=180)
        assert not worker.is_alive(), "ingest hung after the kill"
        connections.close_all()  # the test's own connection died with PostgreSQL
        report = result.get("report")
        # Whatever the crash left, no document is complete unless it is in all three stores.
        for document in Document.objects.filter(document_id__startswith=prefix, status="complete"):
            assert document.in_postgres and document.in_milvus and document.in_neo4j

        # The app's cached clients recover by themselves: no milvus_connection().close()/graph_connection().close() here.
        assert eventually(_reachable, timeout=120, interval=1), f"{store} did not come back"
        # The fault is over: what is tested from here is that the stores converge, not the short timeouts
        # (a thawed or restarted engine on a busy machine can take longer than them to answer at first).
        settings.MILVUS_TIMEOUT, settings.NEO4J_TIMEOUT, settings.SEARCH_TIMEOUT = 30.0, 30.0, 60.0
        fixed = reconcile()
        assert not fixed.failed, fixed.failed
        again = ingest_paths([tmp_path / "corpus"], id_prefix=prefix)
        assert not again.failed, again.failed
        recovered = time.monotonic() - killed_at
        found = support.assert_identical(prefix, expected_documents=FILES)
        assert reconcile(dry_run=True).repaired == [] and not [
            d for d in reconcile(dry_run=True).incomplete if d.startswith(prefix)]
        support.TIMINGS[f"{fault} {store}: restart"] = restart
        support.TIMINGS[f"{fault} {store}: {fault} -> all {FILES} documents identical"] = recovered
        print(f"\n{fault} {store}: ingest {report.counts() if report else result.get('error')!r} "
              f"{sorted({f['reason'][:90] for f in report.failed})[:3] if report else ''}; "
              f"reconcile repaired {len(fixed.repaired)}, orphans {len(fixed.orphan_milvus_chunks)}; "
              f"re-ingest {again.counts()}; restart {restart:.1f}s, identical after {recovered:.1f}s; "
              f"{sum(len(c) for c in found['postgres'].values())} chunks")
    finally:
        support.drop_everything(prefix, collection)

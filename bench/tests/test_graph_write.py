"""bench.graph_write on the real Neo4j: a small corpus written new then rewritten, with db hits, and nothing left."""

import pytest

from bench import graph_write
from graphstore import client, group_statements

pytestmark = pytest.mark.integration


def test_rounds_report_costs_and_leave_no_namespace(neo4j_store, settings, tmp_path):
    for n, topic in enumerate(["vector search", "graph search", "keyword search"]):
        (tmp_path / f"note{n}.md").write_text(f"# Note {n}\n\nThe {topic} index and the ledger store.\n\n"
                                              f"A {topic} query uses the ledger store and the {topic} index.\n")
    lines = []
    results = graph_write.run(str(tmp_path), group=2, rounds=2, profile=True, neo4j_pid=None, log=lines.append)
    assert [r["round"] for r in results] == [0, 1] and len(lines) == 2
    assert all(r["documents"] == 3 and r["db_hits"]["total"] > 0 for r in results)
    old_mentions = graph_write.statement_key(group_statements.MENTIONS)
    assert old_mentions not in results[0]["db_hits"], "new documents have no old mentions to read"
    assert old_mentions in results[1]["db_hits"], "rewritten ones do"
    assert client.read("MATCH (n {namespace: $namespace}) RETURN count(n) AS n",
                       namespace=settings.RAG_NAMESPACE).records[0]["n"] == 0

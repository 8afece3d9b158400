"""The Neo4j warm-up (graphstore.warmup, `manage.py graph_warmup`): it runs, and leaves nothing in the graph."""

import io

import pytest
from django.core.management import CommandError, call_command

from graphstore import services, warmup
from graphstore.tests.conftest import count_graph, dump_namespace

pytestmark = pytest.mark.integration


@pytest.fixture
def small(monkeypatch):
    """A few small groups: the same statements and steps, a fraction of a second."""
    monkeypatch.setattr(warmup, "GROUP", 6)
    monkeypatch.setattr(warmup, "GROUPS_PER_ROUND", 3)
    monkeypatch.setattr(warmup, "VOCABULARY", 40)


def _total(driver, database) -> tuple[int, int]:
    record = driver.execute_query("CALL () { MATCH (n) RETURN count(n) AS nodes } "
                                  "CALL () { MATCH ()-[r]->() RETURN count(r) AS edges } RETURN nodes, edges",
                                  database_=database).records[0]
    return record["nodes"], record["edges"]


def _user_graph():
    services.write_document("user-doc", "mine", "mine.txt", "h1", {"graph": 2, "warmup": 1},
                            [("graph", "warmup", 0.5)])


def test_the_warm_up_writes_and_reads_then_leaves_the_graph_as_it_found_it(graph, settings, small):
    _user_graph()
    before = dump_namespace(graph, settings.NEO4J_DATABASE, settings.RAG_NAMESPACE)
    totals = _total(graph, settings.NEO4J_DATABASE)
    report = warmup.warm_up(2)
    assert not report["stopped"]
    assert report["documents"] == 2 * (3 * 6 + 6)  # each round's last group is written twice (changed documents)
    assert report["removed"] >= 2 * 3 * 6 + 1  # its documents and concepts existed until the end
    assert report["namespace"].startswith("warmup-") and report["namespace"] != settings.RAG_NAMESPACE
    assert count_graph(graph, settings.NEO4J_DATABASE, report["namespace"]) == (0, 0, 0)
    assert _total(graph, settings.NEO4J_DATABASE) == totals
    assert dump_namespace(graph, settings.NEO4J_DATABASE, settings.RAG_NAMESPACE) == before


def test_the_warm_up_gives_way_to_an_ingest_but_not_to_reads(graph, settings, small, monkeypatch):
    real, writes = warmup.client.execute_write, []

    def someone_else_too(*args):
        result = real(*args)
        writes.append(1)
        graph.execute_query("MATCH (n) RETURN count(n)", database_=settings.NEO4J_DATABASE)  # reads: go on
        if len(writes) == 4:  # another client (another driver) writes a new document: stop before the next group
            graph.execute_query("CREATE (:Document {namespace: $namespace, document_id: 'new'})",
                                namespace=settings.RAG_NAMESPACE, database_=settings.NEO4J_DATABASE)
        return result

    monkeypatch.setattr(warmup.client, "execute_write", someone_else_too)
    totals = _total(graph, settings.NEO4J_DATABASE)
    report = warmup.warm_up(2)
    assert report["stopped"] and report["documents"] == 4 * 6
    assert _total(graph, settings.NEO4J_DATABASE) == (totals[0] + 1, totals[1])  # only the other client's document


def test_a_failing_warm_up_still_deletes_its_namespace(graph, settings, small, monkeypatch):
    seen = []

    def failing_reads(namespace, *args):
        seen.append(count_graph(graph, settings.NEO4J_DATABASE, namespace))
        raise RuntimeError("read failed")

    monkeypatch.setattr(warmup, "_reads", failing_reads)
    totals = _total(graph, settings.NEO4J_DATABASE)
    with pytest.raises(RuntimeError, match="read failed"):
        warmup.warm_up(1)
    assert seen and seen[0][0] > 0  # it had written
    assert _total(graph, settings.NEO4J_DATABASE) == totals


def test_a_killed_warm_ups_namespace_is_deleted_by_the_next_one_and_only_that(graph, settings, small):
    _user_graph()
    lookalike = "warmup-notours"  # not the reserved pattern (warmup- and 12 hex digits): kept
    leftover = "warmup-0123456789ab"
    for namespace in (lookalike, leftover):
        graph.execute_query("CREATE (:Document {namespace: $ns, document_id: 'd'})-[:MENTIONS {count: 1}]->"
                            "(:Concept {namespace: $ns, name: 'c'})", ns=namespace, database_=settings.NEO4J_DATABASE)
    try:
        assert warmup.leftover_namespaces() == [leftover]
        warmup.warm_up(1)
        assert count_graph(graph, settings.NEO4J_DATABASE, leftover) == (0, 0, 0)
        assert count_graph(graph, settings.NEO4J_DATABASE, lookalike) == (2, 1, 0)
        assert count_graph(graph, settings.NEO4J_DATABASE)[0] == 3  # the user's document and its two concepts
    finally:
        services.wipe_namespace(lookalike)
        services.wipe_namespace(leftover)


def test_the_command_says_what_it_did_and_waits_for_the_constraints(graph, settings, small, monkeypatch):
    out = io.StringIO()
    call_command("graph_warmup", "--rounds", "1", stdout=out)
    assert out.getvalue().startswith("graph warm-up done: 1 round(s), 24 documents written in ")
    monkeypatch.setattr(warmup.selectors, "constraint_status", lambda: {"missing": ["x"]})
    with pytest.raises(CommandError, match="graph warm-up skipped: no uniqueness constraints after 0s"):
        call_command("graph_warmup", "--rounds", "1", "--wait", "0", stdout=io.StringIO())

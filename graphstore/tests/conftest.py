"""Graph fixtures on top of the shared `neo4j_store` (real Neo4j; this run's namespace wiped before and after)."""

import pytest

from graphstore import schema




@pytest.fixture
def graph(neo4j_store):
    """A clean graph with the uniqueness constraints installed."""
    from graphstore import services

    services.install_constraints()
    return neo4j_store


def count_graph(driver, database, namespace=None):
    """(nodes, MENTIONS, RELATED_TO) totals of a namespace (the current one by default), read straight from Neo4j."""
    from django.conf import settings

    record = driver.execute_query(
        """
        CALL () { MATCH (n {namespace: $namespace}) RETURN count(n) AS nodes }
        CALL () { MATCH ({namespace: $namespace})-[m:MENTIONS]->() RETURN count(m) AS mentions }
        CALL () { MATCH ({namespace: $namespace})-[r:RELATED_TO]->() RETURN count(r) AS related }
        RETURN nodes, mentions, related
        """,
        namespace=namespace or settings.RAG_NAMESPACE,
        database_=database,
    ).records[0]
    return record["nodes"], record["mentions"], record["related"]


_TIMESTAMPS = ("created", "updated")


def _plain(value):
    return value.iso_format() if hasattr(value, "iso_format") else value


def dump_namespace(driver, database, namespace, *, timestamps=True) -> list:
    """Every node and relationship touching `namespace`, with all properties, as a sorted list of strings.

    With timestamps=False, `created`/`updated` are left out: for comparing graphs built by different histories.
    """
    def props(mapping):
        return sorted((k, _plain(v)) for k, v in mapping.items() if timestamps or k not in _TIMESTAMPS)

    def key(node):
        return (tuple(sorted(node.labels)), node.get("namespace"), node.get("document_id") or node.get("name"))

    nodes = driver.execute_query("MATCH (n {namespace: $namespace}) RETURN n", namespace=namespace,
                                 database_=database).records
    rels = driver.execute_query(
        "MATCH (a)-[r]->(b) WHERE a.namespace = $namespace OR b.namespace = $namespace RETURN a, r, b",
        namespace=namespace, database_=database).records
    dump = [repr(("node", key(r["n"]), props(r["n"]))) for r in nodes]
    dump += [repr(("rel", r["r"].type, key(r["a"]), key(r["b"]), props(r["r"]))) for r in rels]
    return sorted(dump)


def drop_expected_constraints(driver, database):
    """Drop every constraint that enforces one of ours, whatever its name, so installation starts from scratch."""
    rows = driver.execute_query("SHOW CONSTRAINTS YIELD *", database_=database).records
    for row in rows:
        if any(c.matches(row.data()) for c in schema.EXPECTED_CONSTRAINTS):
            # The name comes from the server's own listing of a constraint we expect, not from user input.
            driver.execute_query(f"DROP CONSTRAINT `{row['name']}` IF EXISTS", database_=database)

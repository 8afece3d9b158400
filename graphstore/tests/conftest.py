"""Graph fixtures on top of the shared `neo4j_store` (real Neo4j, wiped before and after each test)."""

import pytest

from graphstore import schema




@pytest.fixture
def graph(neo4j_store):
    """A clean graph with the uniqueness constraints installed."""
    from graphstore import services

    services.install_constraints()
    return neo4j_store


def count_graph(driver, database):
    """(nodes, MENTIONS, RELATED_TO) totals, read straight from Neo4j."""
    record = driver.execute_query(
        """
        CALL () { MATCH (n) RETURN count(n) AS nodes }
        CALL () { MATCH ()-[m:MENTIONS]->() RETURN count(m) AS mentions }
        CALL () { MATCH ()-[r:RELATED_TO]->() RETURN count(r) AS related }
        RETURN nodes, mentions, related
        """,
        database_=database,
    ).records[0]
    return record["nodes"], record["mentions"], record["related"]


def drop_expected_constraints(driver, database):
    """Drop every constraint that enforces one of ours, whatever its name, so installation starts from scratch."""
    rows = driver.execute_query("SHOW CONSTRAINTS YIELD *", database_=database).records
    for row in rows:
        if any(c.matches(row.data()) for c in schema.EXPECTED_CONSTRAINTS):
            # The name comes from the server's own listing of a constraint we expect, not from user input.
            driver.execute_query(f"DROP CONSTRAINT `{row['name']}` IF EXISTS", database_=database)

"""Unit tests for the pure rules in graphstore.schema (no Neo4j needed)."""

import math

import pytest

from graphstore import schema


@pytest.mark.parametrize("label", ["Concept", "Document"])
def test_known_labels_pass(label):
    assert schema.checked_label(label) == label


@pytest.mark.parametrize(
    "label", ["concept", "Person", "", "Concept) DETACH DELETE n //", "Concept`", " Concept", None]
)
def test_unknown_labels_are_rejected(label):
    with pytest.raises(ValueError, match="unknown node label"):
        schema.checked_label(label)


@pytest.mark.parametrize("rel_type", ["MENTIONS", "RELATED_TO"])
def test_known_relationship_types_pass(rel_type):
    assert schema.checked_relationship_type(rel_type) == rel_type


@pytest.mark.parametrize("rel_type", ["mentions", "KNOWS", "RELATED_TO]->() DELETE r //", ""])
def test_unknown_relationship_types_are_rejected(rel_type):
    with pytest.raises(ValueError, match="unknown relationship type"):
        schema.checked_relationship_type(rel_type)


def test_constraints_are_composite_per_namespace_and_cypher_is_fixed():
    names = [c.name for c in schema.EXPECTED_CONSTRAINTS]
    assert names == ["constraint_unique_Concept_namespace_name", "constraint_unique_Document_namespace_document_id"]
    assert schema.EXPECTED_CONSTRAINTS[0].create_cypher() == (
        "CREATE CONSTRAINT `constraint_unique_Concept_namespace_name` IF NOT EXISTS "
        "FOR (n:`Concept`) REQUIRE (n.`namespace`, n.`name`) IS UNIQUE"
    )
    # The pre-namespace ones keep neomodel's single-property names (what install_labels used to create).
    assert [c.name for c in schema.LEGACY_CONSTRAINTS] == [
        "constraint_unique_Concept_name", "constraint_unique_Document_document_id"]
    assert schema.LEGACY_CONSTRAINTS[0].create_cypher().endswith("REQUIRE n.`name` IS UNIQUE")


def test_constraint_on_unlisted_label_cannot_be_built():
    with pytest.raises(ValueError):
        schema.UniqueConstraint("Person", ("name",)).create_cypher()


def test_present_constraints_match_by_shape_not_name():
    rows = [
        {"name": "whatever", "type": "UNIQUENESS", "entityType": "NODE",
         "labelsOrTypes": ["Concept"], "properties": ["namespace", "name"]},
        {"name": "constraint_unique_Document_namespace_document_id", "type": "NODE_PROPERTY_EXISTENCE",
         "entityType": "NODE", "labelsOrTypes": ["Document"], "properties": ["namespace", "document_id"]},
        {"name": "old", "type": "UNIQUENESS", "entityType": "NODE",
         "labelsOrTypes": ["Document"], "properties": ["document_id"]},
    ]
    assert schema.present_constraints(rows) == ["constraint_unique_Concept_namespace_name"]
    assert schema.present_constraints([]) == []
    assert [row["name"] for row in schema.legacy_constraint_rows(rows)] == ["old"]


@pytest.mark.parametrize("name,quoted", [("plain", "`plain`"), ("we`ird", "`we``ird`")])
def test_constraint_names_read_from_the_server_are_quoted(name, quoted):
    assert schema.quoted_name(name) == quoted


@pytest.mark.parametrize("value", ["", "a" * 65, "two words", "x'}) //", None, 3])
def test_bad_namespaces_are_rejected(value):
    with pytest.raises(ValueError, match="namespace"):
        schema.checked_namespace(value)


def test_contributions_may_only_join_mentioned_concepts():
    assert schema.contribution_rows({"a": 1, "b": 2}, [("b", "a", 2)]) == [{"a": "a", "b": "b", "weight": 2.0}]
    with pytest.raises(ValueError, match="does not mention"):
        schema.contribution_rows({"a": 1}, [("a", "b", 1)])
    with pytest.raises(ValueError, match="> 0"):
        schema.contribution_rows({"a": 1, "b": 1}, [("a", "b", 0)])


def test_relation_rows_store_each_pair_once_smaller_name_first_last_weight_wins():
    rows = schema.relation_rows([("b", "a", 1), ("x", "y", 0.5), ("a", "b", 2.5)])
    assert rows == [{"a": "a", "b": "b", "weight": 2.5}, {"a": "x", "b": "y", "weight": 0.5}]


@pytest.mark.parametrize(
    "pair",
    [("a", "a", 1.0), ("a", "", 1.0), ("a", "b", math.nan), ("a", "b", math.inf), ("a", "b", "1"),
     ("a", "b", True), ("a", "b"), "ab", (None, "b", 1.0)],
)
def test_relation_rows_reject_bad_pairs(pair):
    with pytest.raises(ValueError):
        schema.relation_rows([pair])


def test_mention_rows_keep_names_verbatim():
    name = "x'}) DETACH DELETE n //"
    assert schema.mention_rows({name: 2, " spaced ": 1}) == [
        {"name": name, "count": 2},
        {"name": " spaced ", "count": 1},
    ]


@pytest.mark.parametrize("count", [0, -1, 1.5, "2", True, None])
def test_mention_rows_reject_bad_counts(count):
    with pytest.raises(ValueError, match="whole number"):
        schema.mention_rows({"concept": count})


@pytest.mark.parametrize("name", ["", "   ", None, 3, "x" * (schema.MAX_NAME_LENGTH + 1)])
def test_checked_name_rejects_blank_or_huge(name):
    with pytest.raises(ValueError):
        schema.checked_name(name)


def test_checked_names_dedupes_in_order_and_refuses_a_bare_string():
    assert schema.checked_names(["b", "a", "b"]) == ["b", "a"]
    with pytest.raises(ValueError, match="single string"):
        schema.checked_names("abc")


@pytest.mark.parametrize("hops", [0, 4, -1, 1.0, "2", True])
def test_hops_outside_one_to_three_rejected(hops):
    with pytest.raises(ValueError, match="hops"):
        schema.checked_hops(hops)


@pytest.mark.parametrize("limit", [0, schema.MAX_LIMIT + 1, "5", 2.0])
def test_bad_limits_rejected(limit):
    with pytest.raises(ValueError, match="limit"):
        schema.checked_limit(limit)

"""The driver: lazy start-up, caching on the settings, neomodel on the same driver, clear auth failures."""

import logging
import uuid
from datetime import datetime

import pytest
from neomodel import db, get_config

from graphstore import client, services
from graphstore.nodes import Concept, Document


def test_configuring_neomodel_opens_no_connection(settings):
    client.connection().close()
    settings.NEO4J_URI = "bolt://127.0.0.1:1"  # nothing listens there: any connection attempt would fail
    client.configure_neomodel()
    assert client._slot.bound is None or client._slot.bound._driver is None
    assert get_config().database_name == settings.NEO4J_DATABASE


def test_neomodel_cannot_be_given_another_driver():
    with pytest.raises(ValueError, match="graphstore owns the Neo4j driver"):
        get_config().driver = object()


def test_connection_identity_and_repr_hold_no_password(settings):
    settings.NEO4J_PASSWORD = "key-check-" + uuid.uuid4().hex
    connection = client.GraphConnection.from_settings()
    assert settings.NEO4J_PASSWORD not in repr(connection.key)
    assert settings.NEO4J_PASSWORD not in repr(connection)


@pytest.mark.integration
def test_driver_is_cached_and_shared_with_neomodel(neo4j_store, settings):
    assert client.get_driver() is neo4j_store
    assert db.driver is neo4j_store
    namespace = settings.RAG_NAMESPACE
    Concept(namespace=namespace, name="made by neomodel").save()
    records = client.read("MATCH (c:Concept {namespace: $ns}) RETURN c.name AS name", ns=namespace).records
    assert [r["name"] for r in records] == ["made by neomodel"]
    # ...and neomodel reads what the services wrote, native timestamps and relationship properties included.
    services.upsert_document("doc-1", "Title", "a.md", "h")
    services.link_document_concepts("doc-1", {"made by neomodel": 4, "other": 1})
    services.relate_concepts("doc-1", [("made by neomodel", "other", 2)])
    document = Document.nodes.get(namespace=namespace, document_id="doc-1")
    concept = Concept.nodes.get(namespace=namespace, name="made by neomodel")
    assert isinstance(document.created, datetime)
    assert document.concepts.relationship(concept).count == 4
    related = concept.related.relationship(Concept.nodes.get(namespace=namespace, name="other"))
    assert (related.weight, related.docs, related.doc_weights) == (2.0, ["doc-1"], [2.0])


def test_neomodel_would_not_create_single_property_constraints():
    """neomodel's install_labels must not recreate the pre-namespace constraints: no property is unique_index."""
    for node in (Concept, Document):
        assert not [name for name, prop in node.defined_properties(rels=False).items()
                    if getattr(prop, "unique_index", False) or getattr(prop, "index", False)]


@pytest.mark.integration
def test_neomodel_reconnects_lazily_after_reset():
    # Not on neo4j_store: resetting would close the driver that fixture tears down with.
    client.get_driver()
    client.connection().close()
    try:
        assert db.driver is None
        nobody = "nobody-" + uuid.uuid4().hex
        assert Concept.nodes.filter(name=nobody).all() == []  # neomodel asks graphstore for a new driver
        assert db.driver is client.connection()._driver is not None
    finally:
        client.connection().close()


@pytest.mark.integration
def test_wrong_password_is_a_clear_permanent_error_without_the_password(settings, caplog):
    wrong = "wrong-" + uuid.uuid4().hex
    settings.NEO4J_PASSWORD = wrong
    settings.STORE_RETRY_ATTEMPTS = 5
    client.connection().close()
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(client.GraphAuthError) as caught:
            client.get_driver()
    finally:
        client.connection().close()
    error = caught.value
    assert str(error) == (
        f"Neo4j rejected the credentials for user {settings.NEO4J_USER!r}; check NEO4J_USER/NEO4J_PASSWORD"
    )
    for text in (str(error), repr(error), error.reason, caplog.text):
        assert wrong not in text
    assert error.__cause__ is None
    assert "retrying" not in caplog.text  # an auth failure is not transient: exactly one attempt
    assert client._slot.bound is None or client._slot.bound._driver is None

"""graph_constraints: thin over services/selectors, one-line errors."""

import io

import pytest
from django.core.management import CommandError, call_command

from graphstore import client
from graphstore.tests.conftest import drop_expected_constraints


def _run(*args):
    out = io.StringIO()
    call_command("graph_constraints", *args, stdout=out)
    return out.getvalue()


@pytest.mark.integration
def test_install_then_check(neo4j_store, settings):
    drop_expected_constraints(neo4j_store, settings.NEO4J_DATABASE)
    with pytest.raises(CommandError, match="2 Neo4j constraint\\(s\\) missing"):
        _run("--check")
    first = _run()
    assert "created  constraint_unique_Concept_namespace_name" in first
    assert "created  constraint_unique_Document_namespace_document_id" in first
    second = _run()
    assert "existing constraint_unique_Concept_namespace_name" in second and "created" not in second
    assert "present  constraint_unique_Document_namespace_document_id" in _run("--check")


def test_store_down_is_one_line_naming_neo4j_and_the_uri(settings):
    settings.NEO4J_URI = "bolt://127.0.0.1:1"
    settings.STORE_RETRY_ATTEMPTS = 1
    client.connection().close()
    try:
        with pytest.raises(CommandError) as caught:
            _run()
    finally:
        client.connection().close()
    message = str(caught.value)
    assert message.startswith("Neo4j at bolt://127.0.0.1:1 is unreachable: ")
    assert "\n" not in message
    assert settings.NEO4J_PASSWORD not in message


@pytest.mark.integration
def test_rejected_credentials_are_one_line_without_the_password(settings):
    # An unknown user, so this failure does not count towards locking out the real user.
    settings.NEO4J_USER = "graphstore_nobody"
    settings.NEO4J_PASSWORD = "wrong-command-password"
    client.connection().close()
    try:
        with pytest.raises(CommandError) as caught:
            _run("--check")
    finally:
        client.connection().close()
    assert str(caught.value).startswith("Neo4j rejected the credentials for user 'graphstore_nobody'")
    assert "wrong-command-password" not in str(caught.value)

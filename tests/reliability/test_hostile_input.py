"""Hostile input end to end on the real engines: file names and contents with quotes, backslashes, `||`, `)`,
newlines, Cypher and SQL; hostile filter values and concept names; oversized and deeply nested JSON; binary
and non-UTF-8 files. Nothing executes, nothing is lost, each gets a clear 4xx or a reported skip."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from graphstore import client as graph
from graphstore import selectors as graph_selectors
from graphstore import services as graph_services
from retrieval import pipeline
from ingestion.services import ingest_paths
from rag_data.models import Chunk, Document, Query
from tests.reliability import support

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

NASTY = [
    'quote"double', "quote'single", "back\\slash\\", "pipe || true", "paren ) or (1==1", "new\nline",
    '") or document_id != "', "x' OR '1'='1", "'; DROP TABLE rag_data_document; --",
    "}) MATCH (n) DETACH DELETE n //", "`label` :Admin", "tab\tand\rcr", "unicode ☃ ünïcödé",
]
CYPHER = "'}) WITH 1 AS x MATCH (n) DETACH DELETE n RETURN 1 //"
SQL = "Robert'); DROP TABLE rag_data_chunk;-- and 1=1 UNION SELECT password FROM auth_user"


@pytest.fixture
def hostile(settings, tmp_path):
    prefix, collection = support.unique("hos"), support.unique("rel_hostile_")
    support.small_settings(settings, collection)
    root = tmp_path / "corpus"
    root.mkdir()
    names = ['a"b.md', "c'd.md", "e\\f.md", "g || h.md", "i ) j.md", "k\nl.md", "m;DROP TABLE x;--.md",
             "n}) MATCH (x) DETACH DELETE x.md", "o ☃.md"]
    for n, name in enumerate(names):
        (root / name).write_text(f"# {NASTY[n % len(NASTY)]}\n\n{CYPHER}\n\n{SQL}\n\nGraph storage note {n} "
                                 f"about vector search and {NASTY[(n + 3) % len(NASTY)]}.\n")
    (root / "binary.md").write_bytes(b"\x00\x01\x02\xff" * 100)
    (root / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (root / "empty.md").write_bytes(b"")
    (root / "big.md").write_text("x" * 5000)
    settings.INGEST_MAX_FILE_BYTES = 4000
    canary = f"{prefix}-canary"
    graph.write("MERGE (c:Concept {name: $name})", name=canary)
    yield prefix, root, names, canary
    graph.write("MATCH (c:Concept {name: $name}) DETACH DELETE c", name=canary)
    support.drop_everything(prefix, collection)


def test_hostile_files_are_ingested_or_skipped_and_nothing_executes(hostile, client):
    prefix, root, names, canary = hostile
    report = ingest_paths([root], id_prefix=prefix)
    assert sorted(report.created) and len(report.created) == len(names), report.as_dict()
    assert not report.failed, report.failed
    reasons = {row["path"].rsplit("/", 1)[-1]: row["reason"] for row in report.skipped}
    assert set(reasons) == {"binary.md", "latin1.txt", "empty.md", "big.md"}, reasons
    assert "binary" in reasons["binary.md"] and "UTF-8" in reasons["latin1.txt"]
    assert "empty" in reasons["empty.md"] and "too large" in reasons["big.md"]
    # Nothing executed: the canary node and every table are still there; texts are stored verbatim.
    assert graph_selectors.neighbour_concepts(canary) == [] and graph.read(
        "MATCH (c:Concept {name: $name}) RETURN count(c) AS n", name=canary).records[0]["n"] == 1
    assert Chunk.objects.filter(text__contains=SQL).count() == len(names)
    support.assert_identical(prefix, expected_documents=len(names))
    sources = set(Document.objects.filter(document_id__startswith=prefix).values_list("source_path", flat=True))
    assert sources == set(names)

    # A filter on each hostile source path finds exactly that file's chunks, through the API.
    for document in Document.objects.filter(document_id__startswith=prefix):
        body = {"query": "graph storage vector search", "k": 20, "filters": {"metadata.source": document.source_path}}
        response = client.post("/api/search", json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content
        found = {hit["document_id"] for hit in response.json()["results"]}
        assert found == {document.document_id}, (document.source_path, found)
    # SQL- and Cypher-looking query text is just text.
    for text in (SQL, CYPHER, *NASTY):
        response = client.post("/api/search", json.dumps({"query": text, "k": 5}), content_type="application/json")
        assert response.status_code == 200, (text, response.content)
    assert Query.objects.count() >= len(NASTY) + 2


@pytest.mark.parametrize("body, message", [
    ({"query": "x", "filters": {"document_id": ["a"] * 101}}, "filters"),
    ({"query": "x", "filters": {"metadata.a) or (1": "x"}}, "filters"),
    ({"query": "x", "filters": {"metadata.x": {"$ne": 1}}}, "filters"),
    ({"query": "x", "filters": {"document_id": "nul\x00byte"}}, "NUL"),
    ({"query": "x" * 2001}, "query"),
    ({"query": "x", "k": "10; DROP TABLE"}, "k"),
    ({"query": "x", "weights": {"vector); MATCH (n": 1}}, "weights"),
])
def test_hostile_request_bodies_get_a_clear_400(client, body, message):
    response = client.post("/api/search", json.dumps(body), content_type="application/json")
    assert response.status_code == 400 and message in response.json()["error"], response.content


def test_oversized_and_deeply_nested_json_get_413_and_400(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    big = json.dumps({"query": "x", "filters": {"document_id": ["y" * 1000] * 100}})
    assert client.post("/api/search", big, content_type="application/json").status_code == 413
    nested = '{"query": "x", "filters": {"a": ' + "[" * 20000 + "]" * 20000 + "}}"
    response = client.post("/api/search", nested, content_type="application/json")
    assert response.status_code == 400 and "nested too deeply" in response.json()["error"]
    nested_objects = '{"query": "x", "weights": ' + '{"a":' * 8000 + "1" + "}" * 8000 + "}"
    assert client.post("/api/search", nested_objects, content_type="application/json").status_code == 400
    latin1 = '{"query": "caf\xe9"}'.encode("latin-1")
    response = client.post("/api/search", latin1, content_type="application/json")
    assert response.status_code == 400 and "UTF-8" in response.json()["error"]


_hostile_text = st.text(alphabet=st.sampled_from(list("\"'\\|)(}{][;`$\n\r\t -=!<>*%_") + ["a", "b", "☃", "\x7f"]),
                        min_size=1, max_size=24).filter(lambda s: s.strip())


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=_hostile_text)
def test_hostile_filter_values_and_concept_names_never_break_out(searchable_store, value):
    """Property: a hostile document_id filter matches nothing (no injected clause widens it), and a hostile
    concept name is stored and read back verbatim through Cypher parameters."""
    prefix = searchable_store
    result = pipeline.search("graph storage", k=5, hops=1, filters={"document_id": value})
    assert result.hits == []
    also = pipeline.search("graph storage", k=5, filters={"metadata.source": [value, "doc000.md"]})
    assert also.hits and {hit.metadata.get("source") for hit in also.hits} == {"doc000.md"}
    document_id = also.hits[0].document_id
    graph_services.link_document_concepts(document_id, {value: 1})
    names = {c["name"] for c in graph_selectors.concepts_for_documents([document_id])[document_id]}
    assert value in names
    graph_services.link_document_concepts(document_id, {"graph": 1}, replace=True)


@pytest.fixture
def searchable_store(settings, tmp_path):
    prefix, collection = support.unique("hyp"), support.unique("rel_hyp_")
    support.small_settings(settings, collection)
    support.write_corpus(tmp_path / "c", 3)
    assert len(ingest_paths([tmp_path / "c"], id_prefix=prefix).created) == 3
    yield prefix
    support.drop_everything(prefix, collection)

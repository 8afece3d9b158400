"""Documents over HTTP (scope `documents`): upload as a file or as JSON text -> 202 and a job; the ledger listed
and read; delete -> 202 and a job; jobs read back. Bad uploads are clear 4xx answers that store nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apikeys.services import create_key
from jobs.models import Upload
from rag_data.models import Chunk, Document

TOKEN = "bootstrap-token-for-document-tests-1"
AUTH = {"HTTP_AUTHORIZATION": f"Bearer {TOKEN}"}
MARKDOWN = b"# Otters\n\nSea otters hold hands while they sleep so that they do not drift apart.\n"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.API_TOKEN = TOKEN
    settings.API_RATE_LIMIT = ""


def upload_file(client, data=MARKDOWN, name="otters.md", content_type="text/markdown", **fields):
    form = {"file": SimpleUploadedFile(name, data, content_type=content_type), **fields}
    return client.post("/api/documents", form, **AUTH)


def upload_text(client, body):
    data = body if isinstance(body, str) else json.dumps(body)
    return client.post("/api/documents", data, content_type="application/json", **AUTH)


def ledger_row(document_id, status="complete", chunks=2, **extra):
    stored = status == "complete"
    document = Document.objects.create(document_id=document_id, source_path=f"{document_id}.md", title=document_id,
                                       content_hash="a" * 64, status=status, in_postgres=True, in_milvus=stored,
                                       in_neo4j=stored, **extra)
    for n in range(chunks):
        Chunk.objects.create(chunk_id=f"{document_id}-{n}", document=document, ordinal=n, text=f"text {n}",
                             content_hash="b" * 64)
    return document


@pytest.mark.django_db
def test_a_file_upload_is_a_202_with_a_job_to_follow(client):
    response = upload_file(client, id="otters-1", metadata=json.dumps({"title": "Otters"}))
    assert response.status_code == 202, response.content
    body = response.json()
    assert body["document_id"] == "otters-1" and response["Location"] == f"/api/jobs/{body['job_id']}"
    upload = Upload.objects.get()
    assert (upload.name, upload.metadata, bytes(upload.data)) == ("otters.md", {"title": "Otters"}, MARKDOWN)

    job = client.get(f"/api/jobs/{body['job_id']}", **AUTH).json()
    assert (job["id"], job["task"], job["status"], job["document_id"]) == (body["job_id"], "ingest", "todo",
                                                                             "otters-1")
    document = client.get("/api/documents/otters-1", **AUTH).json()
    assert document["status"] == "queued" and document["chunks"] == 0
    assert [j["id"] for j in document["jobs"]] == [body["job_id"]]


@pytest.mark.django_db
def test_json_text_upload_and_its_default_id(client):
    response = upload_text(client, {"text": "Plain words about badgers and their setts.", "metadata": {"k": 1}})
    assert response.status_code == 202, response.content
    assert response.json()["document_id"].startswith("upload-")
    response = upload_text(client, {"text": "<html><body><p>Hedgehogs.</p></body></html>", "name": "h.html",
                                    "id": "hedgehogs"})
    assert response.status_code == 202 and response.json()["document_id"] == "hedgehogs"
    assert Upload.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("send, status, message", [
    (lambda c: upload_file(c, data=b""), 400, "empty document"),
    (lambda c: upload_file(c, name="a.exe", content_type="application/x-msdownload"), 415,
     "unsupported content type 'application/x-msdownload'"),
    (lambda c: upload_file(c, name="a.bin", content_type="application/octet-stream"), 415, "unsupported format"),
    (lambda c: upload_file(c, name="a.pdf", content_type="application/pdf"), 400, "not a PDF"),
    (lambda c: upload_file(c, data=b"x" * 2048), 413, "document too large (2048 bytes > DOCUMENT_MAX_BYTES=1024)"),
    (lambda c: upload_file(c, id="bad id!"), 400, "document id must be"),
    (lambda c: upload_file(c, metadata="{nope"), 400, "metadata: malformed JSON"),
    (lambda c: upload_file(c, metadata="[1]"), 400, "metadata must be a JSON object"),
    (lambda c: upload_file(c, colour="red"), 400, "unknown field(s): colour; allowed: file, id, metadata"),
    (lambda c: c.post("/api/documents", {"id": "x"}, **AUTH), 400, "missing field(s): file"),
    (lambda c: upload_text(c, {"text": "x", "colour": "red"}), 400, "unknown field(s): colour"),
    (lambda c: upload_text(c, {"name": "x.md"}), 400, "missing field(s): text"),
    (lambda c: upload_text(c, {"text": ""}), 400, "text: expected the document as non-empty text"),
    (lambda c: upload_text(c, {"text": 5}), 400, "text: expected the document as non-empty text"),
    (lambda c: upload_text(c, {"text": "x", "id": 5}), 400, "id: expected text, got int"),
    (lambda c: upload_text(c, {"text": "x", "metadata": {"title": 5}}), 400, "metadata title must be a string"),
    (lambda c: upload_text(c, "[1]"), 400, "the body must be a JSON object, got list"),
    (lambda c: c.post("/api/documents", "plain", content_type="text/plain", **AUTH), 415,
     "send the document as multipart/form-data"),
])
def test_unusable_uploads_are_clear_4xx_and_store_nothing(client, settings, send, status, message):
    settings.DOCUMENT_MAX_BYTES = 1024
    response = send(client)
    assert response.status_code == status, response.content
    assert message in response.json()["error"], response.json()
    assert not Upload.objects.exists()


@pytest.mark.django_db
def test_a_json_body_over_the_api_limit_is_413(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = upload_text(client, {"text": "x" * 2000})
    assert response.status_code == 413 and "larger than 1024 bytes" in response.json()["error"]


@pytest.mark.django_db
def test_the_ledger_listed_by_status_and_page_and_read_per_document(client):
    ledger_row("doc-a"), ledger_row("doc-b", chunks=3), ledger_row("doc-c", status="failed", chunks=0,
                                                                   last_error="Neo4j: unreachable")
    page = client.get("/api/documents?status=complete&page=2&page_size=1", **AUTH).json()
    assert (page["count"], page["page"], page["page_size"]) == (2, 2, 1)
    assert [row["document_id"] for row in page["results"]] == ["doc-b"]
    assert page["results"][0]["chunks"] == 3 and page["results"][0]["stores"] == {
        "postgres": True, "milvus": True, "neo4j": True}
    everything = client.get("/api/documents", **AUTH).json()
    assert [row["document_id"] for row in everything["results"]] == ["doc-a", "doc-b", "doc-c"]
    failed = client.get("/api/documents/doc-c", **AUTH).json()
    assert (failed["status"], failed["last_error"], failed["chunks"], failed["jobs"]) == (
        "failed", "Neo4j: unreachable", 0, [])
    assert failed["stores"] == {"postgres": True, "milvus": False, "neo4j": False}


@pytest.mark.django_db
@pytest.mark.parametrize("path, status, message", [
    ("/api/documents?page=0", 400, "page: input should be greater than or equal to 1"),
    ("/api/documents?page_size=500", 400, "page_size: input should be less than or equal to 100"),
    ("/api/documents?status=done", 400, "status: input should be 'pending', 'complete', 'failed' or 'deleting'"),
    ("/api/documents?page=x", 400, "page: input should be a valid integer"),
    ("/api/documents/nope", 404, "document_id: no document with id nope"),
    ("/api/jobs/999999", 404, "job_id: no job with id 999999"),
    ("/api/jobs/x", 400, "job_id: input should be a valid integer"),
])
def test_bad_reads_are_400_or_404_never_a_422(client, path, status, message):
    response = client.get(path, **AUTH)
    assert response.status_code == status, response.content
    assert response.json() == {"error": response.json()["error"]} and message in response.json()["error"]


@pytest.mark.django_db
def test_delete_is_a_202_job_and_an_unknown_document_a_404(client):
    ledger_row("doc-a")
    response = client.delete("/api/documents/doc-a", **AUTH)
    assert response.status_code == 202, response.content
    job = client.get(response["Location"], **AUTH).json()
    assert (job["task"], job["document_id"], job["status"]) == ("delete", "doc-a", "todo")
    assert client.delete("/api/documents/doc-z", **AUTH).status_code == 404
    response = client.put("/api/documents/doc-a", **AUTH)
    assert response.status_code == 405 and response["Allow"] == "GET, DELETE"


@pytest.mark.django_db
def test_document_endpoints_need_the_documents_scope(client):
    _, search_only = create_key(name="searcher", scopes=["search"])
    _, documents = create_key(name="loader", scopes=["documents"])
    for method, path in (("get", "/api/documents"), ("get", "/api/documents/x"), ("delete", "/api/documents/x"),
                         ("get", "/api/jobs/1"), ("post", "/api/documents")):
        response = getattr(client, method)(path, HTTP_AUTHORIZATION=f"Bearer {search_only}")
        assert response.status_code == 403 and "lacks the scope documents" in response.json()["error"], path
        assert getattr(client, method)(path).status_code == 401, path
    assert client.get("/api/documents", HTTP_AUTHORIZATION=f"Bearer {documents}").status_code == 200
    response = client.post("/api/search", json.dumps({"query": "x"}), content_type="application/json",
                           HTTP_AUTHORIZATION=f"Bearer {documents}")
    assert response.status_code == 403


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_upload_over_http_to_search_and_delete(client, settings, tmp_path):
    """curl-level path: POST a file -> a real worker process ingests it -> all three stores -> /api/search finds
    it -> DELETE -> gone."""
    from graphstore.client import get_driver
    from ingestion import store_sync
    from jobs.tests.support import wait_for, workers
    from tests.fixtures import wipe_graph_namespace
    from tests.reliability import support

    prefix, collection = support.unique("api"), support.unique("apidocs_")
    support.small_settings(settings, collection)
    settings.EMBEDDER = "hashing"
    store_sync.prepare_stores()
    document_id = f"{prefix}-otters"
    try:
        with workers(settings, tmp_path, 1) as running:
            response = upload_file(client, id=document_id, metadata=json.dumps({"title": "Otters"}))
            assert response.status_code == 202, response.content
            job_url = response["Location"]
            wait_for(lambda: client.get(job_url, **AUTH).json()["status"] == "succeeded", 120, "ingest job",
                     running)
            document = client.get(f"/api/documents/{document_id}", **AUTH).json()
            assert document["status"] == "complete" and document["title"] == "Otters", document
            assert document["stores"] == {"postgres": True, "milvus": True, "neo4j": True} and document["chunks"] >= 1
            found = client.post("/api/search", json.dumps({"query": "sea otters sleep holding hands", "k": 3}),
                                content_type="application/json", **AUTH).json()
            assert document_id in [row["document_id"] for row in found["results"]], found

            response = client.delete(f"/api/documents/{document_id}", **AUTH)
            assert response.status_code == 202
            wait_for(lambda: client.get(response["Location"], **AUTH).json()["status"] == "succeeded", 120,
                     "delete job", running)
            assert not Document.objects.filter(document_id=document_id).exists()
    finally:
        support.drop_everything(prefix, collection)
        wipe_graph_namespace(get_driver(), settings.NEO4J_DATABASE, settings.RAG_NAMESPACE)

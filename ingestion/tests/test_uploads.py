"""Uploads (bytes, not files): the checks before anything is stored, the ids, and the pipeline on the real engines."""

import pytest

from ingestion.services import ingest_paths
from ingestion.sources import is_upload_path
from ingestion.tests.pdfs import make_pdf
from ingestion.tests.support import GUIDE, NOTES, assert_stores_agree, stores  # noqa: F401 (fixtures)
from ingestion.uploads import Unusable, check_upload, ingest_upload, upload_id_for
from rag_data.models import Document
from vectorstore import selectors as vector_selectors


def test_upload_identity_and_name():
    checked = check_upload(name="dir/Guide.md", data=GUIDE.encode())
    assert checked.document_id == upload_id_for(GUIDE.encode()) and checked.document_id.startswith("upload-")
    assert len(checked.document_id) == len("upload-") + 32
    assert checked.name == "Guide.md" and checked.source_path == "upload://Guide.md"
    assert is_upload_path(checked.source_path) and not is_upload_path("upload:/x.md")
    assert check_upload(name="notes", data=b"plain words", content_type="text/markdown").name == "notes.md"
    assert check_upload(name="page.html", data=b"<p>hello</p>", content_type="text/html; charset=utf-8",
                        document_id="my-page").document_id == "my-page"
    assert check_upload(name="a.pdf", data=make_pdf([["page one"]]), content_type="application/pdf").name == "a.pdf"


@pytest.mark.parametrize(("kwargs", "reason"), [
    ({"data": b""}, "empty document"),
    ({"data": b"x" * 11}, "too large"),
    ({"data": b"\x00\x01binary"}, "binary file"),
    ({"data": b"\xff\xfe\xfa"}, "not UTF-8"),
    ({"data": b"   \n"}, "whitespace only"),
    ({"data": b"text", "name": "picture.png"}, "unsupported format"),
    ({"data": b"text", "content_type": "image/png"}, "unsupported content type"),
    ({"data": b"text", "name": "a.pdf"}, "not a PDF"),
    ({"data": b"text", "name": "a.md", "content_type": "application/pdf"}, "does not match"),
    ({"data": b"text", "document_id": "-bad"}, "document id must be"),
    ({"data": b"text", "document_id": "x" * 129}, "document id must be"),
    ({"data": b"text", "document_id": "a b"}, "document id must be"),
])
def test_unusable_uploads_are_refused_with_one_line(kwargs, reason):
    arguments = {"name": "doc.txt", "max_bytes": 10, **kwargs}
    with pytest.raises(Unusable) as refused:
        check_upload(**arguments)
    assert reason in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_upload_ingested_like_a_file_and_replaced_by_another_upload(stores, neo4j_store, tmp_path):
    report = ingest_upload(document_id="team-guide", name="guide.md", data=GUIDE.encode(),
                           metadata={"title": "Team guide", "team": "search"})
    assert report.counts()["created"] == 1 and report.chunks > 0, report.as_dict()
    document = Document.objects.get(document_id="team-guide")
    assert (document.status, document.title, document.source_path) == ("complete", "Team guide", "upload://guide.md")
    assert document.metadata == {"team": "search"}
    hit = vector_selectors.search([1.0] + [0.0] * 31, k=50, filters={"document_id": "team-guide"})[0]
    assert hit["metadata"]["source"] == "upload://guide.md" and hit["metadata"]["ext"] == "md"
    again = ingest_upload(document_id="team-guide", name="guide.md", data=GUIDE.encode(),
                          metadata={"title": "Team guide", "team": "search"})
    assert again.counts()["unchanged"] == 1
    relabelled = ingest_upload(document_id="team-guide", name="guide.md", data=GUIDE.encode(),
                               metadata={"title": "Team guide", "team": "graph"})
    assert relabelled.counts()["updated"] == 1
    assert Document.objects.get(document_id="team-guide").metadata == {"team": "graph"}
    replaced = ingest_upload(document_id="team-guide", name="notes.txt", data=NOTES.encode(), metadata={})
    assert replaced.counts()["updated"] == 1
    assert Document.objects.get(document_id="team-guide").source_path == "upload://notes.txt"
    assert Document.objects.get(document_id="team-guide").metadata == {}
    assert_stores_agree()

    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "a.md").write_text(GUIDE)
    file_id = ingest_paths([tmp_path / "kb"]).created[0]
    refused = ingest_upload(document_id=file_id, name="a.md", data=NOTES.encode())
    assert refused.failed and "already belongs to 'kb/a.md'" in refused.failed[0]["reason"]
    assert refused.failed[0]["transient"] is False
    assert Document.objects.get(document_id=file_id).source_path == "kb/a.md"
    # A file's bytes sent with its source path (`ingest --enqueue`) are that file: unchanged, not a new document.
    same = ingest_upload(document_id=file_id, name="a.md", data=GUIDE.encode(), source_path="kb/a.md")
    assert same.counts()["unchanged"] == 1

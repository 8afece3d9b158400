"""The Milvus metadata of a chunk from its ledger fields (written by ingestion, rebuilt by search)."""

from rag_data.chunk_metadata import chunk_metadata, extension, page_of


def test_metadata_keys_extension_aliases_and_the_pdf_page():
    assert chunk_metadata("docs/guide.markdown", "Guide", 0, "0123456789abcdef-00000-0123456789abcdef") == {
        "source": "docs/guide.markdown", "title": "Guide", "ordinal": 0, "ext": "md"}
    assert chunk_metadata("paper.PDF", "", 4, "0123456789abcdef-00004-0123456789abcdef-p12") == {
        "source": "paper.PDF", "title": "", "ordinal": 4, "ext": "pdf", "page": 12}
    assert [extension(p) for p in ("a.htm", "b.XHTML", "README", "c.txt")] == ["html", "html", "txt", "txt"]
    assert page_of("abc-00001-def") is None and page_of("abc-00001-def-p3") == 3


def test_ingestion_writes_the_same_metadata_to_milvus():
    from types import SimpleNamespace

    from ingestion.store_sync import milvus_rows

    document = SimpleNamespace(document_id="d", source_path="x/report.pdf", title="Report")
    chunk = SimpleNamespace(chunk_id="0123456789abcdef-00002-0123456789abcdef-p9", ordinal=2, text="t")
    [row] = milvus_rows(document, [chunk], [[0.0, 1.0]])
    assert row["metadata"] == chunk_metadata("x/report.pdf", "Report", 2, chunk.chunk_id) == {
        "source": "x/report.pdf", "title": "Report", "ordinal": 2, "ext": "pdf", "page": 9}

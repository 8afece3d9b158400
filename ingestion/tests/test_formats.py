"""HTML and PDF extraction on real files (an HTML page shipped here, PDFs written by the test), no stores."""

from pathlib import Path

import pytest

from ingestion.chunking import chunk_pages
from ingestion.formats import Skip, extract, kind_of
from ingestion.sources import chunks_for
from ingestion.tests.pdfs import make_pdf

PAGE = Path(__file__).parent / "data" / "replication-guide.html"
BOILERPLATE = ("Acme Docs</", "Products", "On this page", "Home ›", "cookies", "Accept", "All rights reserved",
               "Privacy", "tracking", "color:red")


def test_html_main_text_without_boilerplate_headings_as_markdown():
    page = extract(PAGE.read_bytes(), PAGE.name)
    assert page.title == "Replication guide — Acme Docs" and page.markdown and page.pages is None
    for junk in BOILERPLATE:
        assert junk not in page.text, junk
    assert page.text.startswith("# Replication guide\n\nStreaming replication ships the write-ahead log")
    assert "## Setup" in page.text and "## Failover" in page.text
    assert "- Promote the standby with pg_ctl promote.\n- Point clients at the new primary." in page.text
    assert "Mode | Latency\nsync | higher" in page.text
    # Code keeps its lines and is fenced, so its `# comment` is not a heading.
    assert "```\n# on the primary\nCREATE ROLE replicator WITH REPLICATION LOGIN;\n```" in page.text


def test_html_headings_are_chunk_boundaries():
    chunks = chunks_for(extract(PAGE.read_bytes(), PAGE.name), 400, 50)
    assert [chunk.headings for chunk in chunks] == [
        ("Replication guide",), ("Replication guide", "Setup"), ("Replication guide", "Failover")]
    assert chunks[1].text.startswith("## Setup") and "# on the primary" in chunks[1].text


def test_html_encodings_and_pages_without_text():
    latin = '<html><head><meta charset="iso-8859-1"></head><body><p>Caf\xe9 cr\xe8me</p></body></html>'
    assert extract(latin.encode("latin-1"), "x.html").text == "Café crème"
    assert extract("<p>naïve</p>".encode("utf-16"), "x.htm").text == "naïve"
    assert extract(b"<html><body><p>no main</p><footer>f</footer></body></html>", "x.html").text == "no main"
    for data, reason in [
        (b"<html><body><nav><a>Home</a></nav><footer>(c)</footer></body></html>", "HTML has no text in its main content"),
        (b"<p>caf\xe9</p>", "not UTF-8 HTML (invalid byte at offset 6) and no charset declared"),
        (b'<meta charset="klingon"><p>caf\xe9</p>', "HTML declares an unknown charset 'klingon'"),
        (b"", "empty file"),
    ]:
        with pytest.raises(Skip) as skipped:
            extract(data, "x.html")
        assert str(skipped.value) == reason


def test_pdf_text_per_page_with_page_numbers():
    data = make_pdf([["Vector indexes (HNSW) are layered graphs.", "They answer nearest neighbour queries."],
                     [],  # an image-only page in between: no text, no chunk, numbering kept
                     ["Backups: take a snapshot, then copy the write-ahead log."]], title="Operations manual")
    document = extract(data, "manual.pdf")
    assert document.title == "Operations manual" and not document.markdown
    assert document.pages == ((1, "Vector indexes (HNSW) are layered graphs.\nThey answer nearest neighbour queries."),
                              (3, "Backups: take a snapshot, then copy the write-ahead log."))
    chunks = chunks_for(document, 60, 10)
    assert {chunk.page for chunk in chunks} == {1, 3} and all(chunk.text.strip() for chunk in chunks)
    assert chunks[-1].page == 3 and "Backups" in chunks[-1].text
    # A chunk never spans two pages.
    paged = chunk_pages([(1, "a " * 40), (2, "b " * 40)], 30, 5)
    assert [c.page for c in paged] == sorted(c.page for c in paged) and {c.page for c in paged} == {1, 2}
    assert all(set(c.text.split()) == ({"a"} if c.page == 1 else {"b"}) for c in paged)
    untitled = extract(make_pdf([["First line is the title"]]), "x.pdf")
    assert untitled.title == "First line is the title"


@pytest.mark.parametrize("data, reason", [
    (make_pdf([[], []]), "PDF has no text layer (2 page(s) without text: a scanned document? OCR it first)"),
    (make_pdf([["secret"]], password="pw"), "encrypted PDF (it needs a password)"),
    (b"%PDF-1.7\n garbage that is no PDF", "PDF could not be read ("),
    (make_pdf([["cut short"]])[:300], "PDF could not be read ("),
    (b"plain text named .pdf", "not a PDF (no %PDF- header)"),
], ids=["scanned", "encrypted", "garbage", "truncated", "not-pdf"])
def test_unreadable_pdfs_are_skipped_with_a_reason(data, reason):
    with pytest.raises(Skip) as skipped:
        extract(data, "bad.pdf")
    assert str(skipped.value).startswith(reason)


def test_pdf_with_an_empty_user_password_opens():
    assert extract(make_pdf([["open to all"]], password=""), "x.pdf").pages == ((1, "open to all"),)


def test_kinds_by_extension():
    assert [kind_of(n) for n in ("a.PDF", "b.htm", "c.xhtml", "d.markdown", "e.rst", "f.csv")] == [
        "pdf", "html", "html", "markdown", "text", "text"]

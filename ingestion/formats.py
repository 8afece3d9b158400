"""Text out of a file's bytes, by format: plain text and Markdown here, HTML and PDF in their own readers.

Every reader returns an `Extracted` or raises `Skip` with the reason shown to the user (ingestion.extracted):
a file that cannot be parsed is reported, never a traceback.

- Text (`.txt`, `.rst`, and any file named explicitly with another extension): UTF-8; underlined headings
  (reStructuredText sections, setext) start chunks, and the first one is the title.
- Markdown (`.md`, `.markdown`): UTF-8; `#` headings start chunks.
- HTML (`.html`, `.htm`, `.xhtml`): the main content as Markdown-like text (ingestion.html_reader).
- PDF (`.pdf`): the text layer, page by page (ingestion.pdf_reader).
"""

from __future__ import annotations

from pathlib import PurePath

from ingestion.extracted import Extracted, Skip, title_for
from ingestion.html_reader import extract_html
from ingestion.pdf_reader import extract_pdf

__all__ = ["HTML_EXTENSIONS", "MARKDOWN_EXTENSIONS", "PDF_EXTENSIONS", "SUPPORTED_EXTENSIONS", "TEXT_EXTENSIONS",
           "Extracted", "Skip", "decode_text", "extract", "extract_html", "extract_pdf", "kind_of", "title_for"]

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".rst"})
MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown"})
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
PDF_EXTENSIONS = frozenset({".pdf"})
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | HTML_EXTENSIONS | PDF_EXTENSIONS


def kind_of(name: str) -> str:
    """"pdf", "html", "markdown" or "text" (the default: a file named explicitly is read as text)."""
    suffix = PurePath(name).suffix.lower()
    if suffix in PDF_EXTENSIONS:
        return "pdf"
    if suffix in HTML_EXTENSIONS:
        return "html"
    return "markdown" if suffix in MARKDOWN_EXTENSIONS else "text"


def extract(data: bytes, name: str) -> Extracted:
    """The text of a file's bytes, by the kind its name says; Skip when there is none to index."""
    if not data:
        raise Skip("empty file")
    kind = kind_of(name)
    if kind == "pdf":
        return extract_pdf(data, name)
    if kind == "html":
        return extract_html(data, name)
    text = decode_text(data)
    markdown = kind == "markdown"
    return Extracted(text, title_for(text, name, markdown, underlined=not markdown), markdown=markdown,
                     underlined=not markdown)


def decode_text(data: bytes) -> str:
    if b"\x00" in data:
        raise Skip("binary file (contains NUL bytes)")
    try:
        text = data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        raise Skip(f"not UTF-8 text (invalid byte at offset {error.start})") from None
    if not text.strip():
        raise Skip("empty file (whitespace only)")
    return text

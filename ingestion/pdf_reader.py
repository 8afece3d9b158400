"""PDF (`.pdf`) as text, read with pypdf: the text layer of every page.

Chunks never span two pages and carry their page number (1-based, the physical page). A PDF with pages but
no text at all (a scan) is skipped with a reason saying so; an encrypted PDF opens only when its user
password is empty.
"""

from __future__ import annotations

import io
import logging
import re

from ingestion.extracted import BLANK_LINES, SPACES, Extracted, Skip, inline, title_for

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL text refuses NUL; the rest is noise

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about sloppy PDFs would break the progress bar


def extract_pdf(data: bytes, name: str = "document.pdf") -> Extracted:
    """The text layer page by page (pypdf); Skip for a damaged or encrypted file or one with no text."""
    from pypdf import PdfReader

    if not data.lstrip()[:5] == b"%PDF-":
        raise Skip("not a PDF (no %PDF- header)")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                opened = reader.decrypt("")
            except Exception as error:  # e.g. AES without the cryptography package
                raise Skip(f"encrypted PDF that cannot be opened ({_reason(error)})") from None
            if not opened:
                raise Skip("encrypted PDF (it needs a password)")
        count = len(reader.pages)
    except Skip:
        raise
    except Exception as error:  # pypdf raises many types for damaged files: each is a reason, not a traceback
        raise Skip(f"PDF could not be read ({_reason(error)})") from None
    if count == 0:
        raise Skip("PDF has no pages")
    pages: list[tuple[int, str]] = []
    failed = 0
    for number in range(1, count + 1):
        try:
            raw = reader.pages[number - 1].extract_text() or ""
        except Exception:  # one damaged page does not lose the others
            failed += 1
            continue
        text = _clean_pdf_text(raw)
        if text:
            pages.append((number, text))
    if not pages:
        if failed == count:
            raise Skip(f"PDF text could not be extracted from any of its {count} page(s)")
        raise Skip(f"PDF has no text layer ({count} page(s) without text: a scanned document? OCR it first)")
    text = "\n\n".join(page for _, page in pages)
    title = ""
    try:
        meta_title = reader.metadata.title if reader.metadata else None
        title = inline(str(meta_title)) if meta_title else ""
    except Exception:  # a damaged info dictionary only costs the title
        title = ""
    return Extracted(text, (title or title_for(text, name, False))[:512], pages=tuple(pages))


def _clean_pdf_text(raw: str) -> str:
    lines = [SPACES.sub(" ", _CONTROL.sub("", line)).strip() for line in raw.splitlines()]
    return BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

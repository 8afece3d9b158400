"""Text out of a file's bytes, by format: plain text and Markdown, HTML, PDF.

Every extractor returns an `Extracted` (the text to chunk, a title, whether headings start chunks, and
for PDFs the text of each page) or raises `Skip` with the reason shown to the user: a file that cannot
be parsed is reported, never a traceback.

- Text (`.txt`, `.rst`, and any file named explicitly with another extension): UTF-8; underlined headings
  (reStructuredText sections, setext) start chunks, and the first one is the title.
- Markdown (`.md`, `.markdown`): UTF-8; `#` headings start chunks.
- HTML (`.html`, `.htm`, `.xhtml`), parsed with selectolax (the Lexbor HTML5 parser): the main content
  (`<main>`, `[role=main]`, the largest `<article>`, else `<body>`) without boilerplate (scripts, styles,
  `<nav>`, site `<header>`/`<footer>`, `<aside>`, forms, hidden elements, and elements whose class or id
  names a menu, breadcrumb, sidebar, cookie banner, ...). It is rewritten as Markdown-like text: `<h1>`..`<h6>`
  become `#` headings, so headings start chunks exactly as in Markdown; `<pre>` is fenced so a `#` line in
  code is not taken for a heading. Encoding: UTF-8, else the charset the page declares.
- PDF (`.pdf`), read with pypdf: the text layer of every page. Chunks never span two pages and carry
  their page number (1-based, the physical page). A PDF with pages but no text at all (a scan) is skipped
  with a reason saying so; an encrypted PDF opens only when its user password is empty.
"""

from __future__ import annotations

import codecs
import io
import logging
import re
from dataclasses import dataclass
from pathlib import PurePath

from ingestion.chunking import underlined_starts

TEXT_EXTENSIONS = frozenset({".txt", ".md", ".markdown", ".rst"})
MARKDOWN_EXTENSIONS = frozenset({".md", ".markdown"})
HTML_EXTENSIONS = frozenset({".html", ".htm", ".xhtml"})
PDF_EXTENSIONS = frozenset({".pdf"})
SUPPORTED_EXTENSIONS = TEXT_EXTENSIONS | HTML_EXTENSIONS | PDF_EXTENSIONS

_MD_HEADING = re.compile(r"^#{1,6}[ \t]+(\S.*?)[ \t]*#*[ \t]*$", re.MULTILINE)
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # PostgreSQL text refuses NUL; the rest is noise

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings about sloppy PDFs would break the progress bar


class Skip(Exception):
    """The file is not ingestible; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Extracted:
    text: str  # the whole text (PDF: the pages joined by blank lines)
    title: str
    markdown: bool = False  # `#` headings start chunks
    underlined: bool = False  # reStructuredText / setext underlined headings start chunks
    pages: tuple[tuple[int, str], ...] | None = None  # PDF: (page number, text) of every page with text


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


def title_for(text: str, name: str, markdown: bool, *, underlined: bool = False) -> str:
    """The first Markdown (or, `underlined`, underlined) heading, else the first line with a letter or digit,
    else the file's stem."""
    if markdown and (match := _MD_HEADING.search(text)):
        return match.group(1)[:512]
    if underlined:
        headings = underlined_starts(text)
        if len(headings) > 1:
            return headings[1][1][-1][:512]
    for line in text.splitlines():
        line = line.strip()
        if any(ch.isalnum() for ch in line):
            return line[:200]
    return PurePath(name).stem[:512]


# --- HTML ---------------------------------------------------------------------------------------------

_DROP_TAGS = ("script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed", "nav",
              "aside", "form", "button", "select", "dialog", "menu")
_DROP_SELECTORS = ('[role="navigation"]', '[role="banner"]', '[role="contentinfo"]', '[role="complementary"]',
                   '[role="search"]', '[aria-hidden="true"]', "[hidden]")
_BOILERPLATE_NAME = re.compile(
    r"(?:^|[-_\s])(?:nav|navbar|navigation|menu|breadcrumbs?|sidebar|footer|cookies?|cookie-banner|banner|"
    r"skip-link|skiplink|toc|social|share|related|advert|ads?|newsletter|subscribe)(?:$|[-_\s])", re.IGNORECASE)
_HEADINGS = {f"h{level}": level for level in range(1, 7)}
_BLOCKS = frozenset({"p", "div", "section", "article", "main", "header", "footer", "blockquote", "ul", "ol",
                     "dl", "dt", "dd", "table", "figure", "figcaption", "address", "details", "summary", "hr",
                     "caption", "body", "html"})


def decode_html(data: bytes) -> str:
    """UTF-8 (with or without BOM), else the charset declared in a <meta> of the first 4 KiB."""
    if data.startswith(codecs.BOM_UTF16_LE) or data.startswith(codecs.BOM_UTF16_BE):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise Skip("not decodable HTML (UTF-16 byte order mark but invalid UTF-16)") from None
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as error:
        offset = error.start
    match = _CHARSET.search(data[:4096])
    if match is None:
        raise Skip(f"not UTF-8 HTML (invalid byte at offset {offset}) and no charset declared")
    charset = match.group(1).decode("ascii", "replace")
    try:
        return data.decode(charset)
    except LookupError:
        raise Skip(f"HTML declares an unknown charset {charset!r}") from None
    except UnicodeDecodeError as error:
        raise Skip(f"HTML is not valid {charset} (invalid byte at offset {error.start})") from None


def extract_html(data: bytes, name: str = "page.html") -> Extracted:
    from selectolax.lexbor import LexborHTMLParser

    text = decode_html(data)
    if "\x00" in text:
        text = text.replace("\x00", "")
    try:
        tree = LexborHTMLParser(text)
    except Exception as error:  # the parser's own failure: a reason, not a traceback
        raise Skip(f"HTML could not be parsed ({type(error).__name__}: {error})") from None
    page_title = ""
    if (node := tree.css_first("head > title") or tree.css_first("title")) is not None:
        page_title = _inline(node.text(deep=True))
    root = _main_content(tree)
    if root is None:
        raise Skip("HTML has no body")
    _drop_boilerplate(root)
    pieces: list = []
    _render(root, pieces)
    body = _join(pieces)
    if not body:
        raise Skip("HTML has no text in its main content")
    heading = _MD_HEADING.search(body)
    title = page_title or (heading.group(1) if heading else "") or title_for(body, name, True)
    return Extracted(body, title[:512], markdown=True)


def _main_content(tree):
    for selector in ("main", '[role="main"]'):
        if (node := tree.css_first(selector)) is not None:
            return node
    articles = tree.css("article")
    if articles:
        return max(articles, key=lambda node: len(node.text(deep=True, strip=True)))
    return tree.body


def _drop_boilerplate(root) -> None:
    """Remove boilerplate subtrees, collected first and removed outermost only (decompose frees memory)."""
    doomed = []
    for selector in _DROP_TAGS + _DROP_SELECTORS:
        doomed.extend(root.css(selector))
    # A site header/footer sits outside the article; an <article>'s own <header> holds its title.
    doomed.extend(node for node in root.css("header, footer") if not _inside(node, root, ("article", "section")))
    for node in root.css("[class], [id]"):
        names = f"{node.attributes.get('class') or ''} {node.attributes.get('id') or ''}"
        if _BOILERPLATE_NAME.search(names) and node.tag not in ("html", "body", "main", "article"):
            doomed.append(node)
    ids = {node.mem_id for node in doomed} - {root.mem_id}
    outermost = {}
    for node in doomed:
        if node.mem_id in ids and not _has_ancestor_in(node, ids):
            outermost[node.mem_id] = node
    for node in outermost.values():
        node.decompose()


def _has_ancestor_in(node, ids: set) -> bool:
    parent = node.parent
    while parent is not None:
        if parent.mem_id in ids:
            return True
        parent = parent.parent
    return False


def _inside(node, root, tags: tuple[str, ...]) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != root.mem_id:
        if parent.tag in tags:
            return True
        parent = parent.parent
    return root.tag in tags


def _inline(text: str) -> str:
    return _SPACES.sub(" ", (text or "").replace("\n", " ")).strip()


def _render(node, out: list) -> None:
    """Append the node's text: blocks separated by blank lines, headings as `#` lines, code fenced.

    `out` holds strings (whitespace normalised later) and ("pre", text) items kept verbatim.
    """
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            out.append(child.text_content or "")
        elif tag in _HEADINGS:
            title = _inline(child.text(deep=True))
            if title:
                out.append(f"\n\n{'#' * _HEADINGS[tag]} {title}\n\n")
        elif tag == "pre":
            code = (child.text(deep=True) or "").strip("\n")
            if code.strip():
                out.append(("pre", f"\n\n```\n{code.rstrip()}\n```\n\n"))
        elif tag == "br":
            out.append("\n")
        elif tag == "li":
            out.append("\n- ")
            _render(child, out)
        elif tag == "tr":
            cells = []
            for cell in child.iter():
                rendered: list = []
                _render(cell, rendered)
                cells.append(_inline("".join(p if isinstance(p, str) else p[1] for p in rendered)))
            out.append("\n" + " | ".join(cells))
        elif tag in _BLOCKS:
            out.append("\n\n")
            _render(child, out)
            out.append("\n\n")
        elif tag.startswith("-") or tag in ("head", "title", "meta", "link"):
            continue  # comments, doctype
        else:
            _render(child, out)


def _join(pieces: list) -> str:
    """Rendered pieces as text: spaces collapsed and lines stripped outside code, at most one blank line."""
    parts, run = [], []

    def flush() -> None:
        if run:
            lines = [_SPACES.sub(" ", line).strip() for line in "".join(run).split("\n")]
            parts.append("\n".join(lines))
            run.clear()

    for piece in pieces:
        if isinstance(piece, tuple):
            flush()
            parts.append(piece[1])
        else:
            run.append(piece.replace("\r", ""))
    flush()
    return _BLANK_LINES.sub("\n\n", "".join(parts)).strip()


# --- PDF ----------------------------------------------------------------------------------------------

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
        title = _inline(str(meta_title)) if meta_title else ""
    except Exception:  # a damaged info dictionary only costs the title
        title = ""
    return Extracted(text, (title or title_for(text, name, False))[:512], pages=tuple(pages))


def _clean_pdf_text(raw: str) -> str:
    lines = [_SPACES.sub(" ", _CONTROL.sub("", line)).strip() for line in raw.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _reason(error: BaseException) -> str:
    text = " ".join(str(error).split())[:200]
    return f"{type(error).__name__}: {text}" if text else type(error).__name__

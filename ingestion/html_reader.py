"""HTML (`.html`, `.htm`, `.xhtml`) as text, parsed with selectolax (the Lexbor HTML5 parser).

The main content (`<main>`, `[role=main]`, the largest `<article>`, else `<body>`) without boilerplate
(scripts, styles, `<nav>`, site `<header>`/`<footer>`, `<aside>`, forms, hidden elements, and elements whose
class or id names a menu, breadcrumb, sidebar, cookie banner, ...). It is rewritten as Markdown-like text:
`<h1>`..`<h6>` become `#` headings, so headings start chunks exactly as in Markdown; `<pre>` is fenced so a `#`
line in code is not taken for a heading. Encoding: UTF-8, else the charset the page declares.
"""

from __future__ import annotations

import codecs
import re

from ingestion.extracted import BLANK_LINES, MD_HEADING, SPACES, Extracted, Skip, inline, title_for

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)

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
        page_title = inline(node.text(deep=True))
    root = _main_content(tree)
    if root is None:
        raise Skip("HTML has no body")
    _drop_boilerplate(root)
    pieces: list = []
    _render(root, pieces)
    body = _join(pieces)
    if not body:
        raise Skip("HTML has no text in its main content")
    heading = MD_HEADING.search(body)
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


def _render(node, out: list) -> None:
    """Append the node's text: blocks separated by blank lines, headings as `#` lines, code fenced.

    `out` holds strings (whitespace normalised later) and ("pre", text) items kept verbatim.
    """
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            out.append(child.text_content or "")
        elif tag in _HEADINGS:
            title = inline(child.text(deep=True))
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
                cells.append(inline("".join(p if isinstance(p, str) else p[1] for p in rendered)))
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
            lines = [SPACES.sub(" ", line).strip() for line in "".join(run).split("\n")]
            parts.append("\n".join(lines))
            run.clear()

    for piece in pieces:
        if isinstance(piece, tuple):
            flush()
            parts.append(piece[1])
        else:
            run.append(piece.replace("\r", ""))
    flush()
    return BLANK_LINES.sub("\n\n", "".join(parts)).strip()

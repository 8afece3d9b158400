"""The ranked results of a query as HTML for the admin's Query, Feedback and EvaluationCase pages.

A reviewer judges feedback by reading what the query returned, so each row shows the chunk's text with the
query's words marked. Every piece of chunk and query text is escaped here (format_html/escape), so stored text
cannot inject HTML into the admin; the pages only place the returned fragment.
"""

from __future__ import annotations

import re

from django.contrib.admin.utils import quote
from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from rag_data import selectors

# Words too common to be worth marking in a snippet.
STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it its of on or that the this to what when "
    "where which who why will with".split()
)
SNIPPET_CHARS = 240
RATED_STYLE = "background: #fff3cd; font-weight: bold;"


def query_words(text: str) -> list[str]:
    """The query's words worth marking: lowercase, at least 2 characters, common words left out."""
    words = (word.lower() for word in re.findall(r"\w+", str(text or "")))
    return list(dict.fromkeys(w for w in words if len(w) >= 2 and w not in STOP_WORDS))


def highlighted_snippet(text: str, words, length: int = SNIPPET_CHARS):
    """Up to `length` characters of `text` around the first of `words`, each word (and its longer forms:
    "graph" marks "graphs") in <mark>; every piece of text is escaped, so chunk and query text cannot inject HTML."""
    text = " ".join(str(text).split())
    words = sorted(words, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\w*", re.IGNORECASE) if words else None
    first = pattern.search(text) if pattern else None
    start = 0
    if first is not None and first.start() > length // 3:
        start = text.find(" ", first.start() - length // 3) + 1 or first.start()
    snippet = text[start:start + length]
    pieces = [escape("…")] if start else []
    last = 0
    for match in pattern.finditer(snippet) if pattern else ():
        pieces += [escape(snippet[last:match.start()]), format_html("<mark>{}</mark>", match.group())]
        last = match.end()
    pieces.append(escape(snippet[last:]))
    if start + length < len(text):
        pieces.append(escape("…"))
    return mark_safe("".join(str(piece) for piece in pieces))  # noqa: S308 -- every piece escaped above


def chunk_link(chunk_id: str):
    """A link to the chunk's read-only admin page (its id quoted: chunk ids hold ':')."""
    url = reverse("admin:rag_data_chunk_change", args=[quote(chunk_id)])
    return format_html('<a href="{}">{}</a>', url, chunk_id)


def results_table(results, rated_chunk_id: str = "", *, query_text: str = "", rated_label: str = "rated",
                  relevant_ids=()):
    """The ranked results as an HTML table: rank, document title, a snippet of the chunk's text with the query's
    words marked, a link to the chunk, score and sources. The rated chunk's row stands out (class "rag-rated"
    and a label); chunks in `relevant_ids` are labelled "relevant". The chunks' text and titles come from
    PostgreSQL in one SELECT; every value is escaped (format_html)."""
    rows = selectors.result_rows(results)
    if not rows:
        return "—"
    chunks = selectors.chunk_texts(rows)
    words = query_words(query_text)
    relevant_ids = set(relevant_ids)
    lines = []
    for rank, row in enumerate(rows, start=1):
        chunk = chunks.get(row["chunk_id"])
        if chunk is None:
            document = format_html("{}", row["document_id"])
            snippet = format_html("<em>{}</em>", "chunk no longer in the ledger")
            link = format_html("{}", row["chunk_id"])
        else:
            document = format_html('{}<br><small>{}</small>', chunk["title"], chunk["document_id"])
            snippet = highlighted_snippet(chunk["text"], words)
            link = chunk_link(row["chunk_id"])
        labels = []
        rated = bool(rated_chunk_id) and row["chunk_id"] == rated_chunk_id
        if rated:
            labels.append(format_html("<strong>◀ {}</strong>", rated_label))
        if row["chunk_id"] in relevant_ids:
            labels.append(format_html("<strong>{}</strong>", "✔ relevant"))
        label = format_html_join(" ", "{}", ((item,) for item in labels))
        row_attrs = format_html(' class="rag-rated" style="{}"', RATED_STYLE) if rated else ""
        lines.append(format_html(
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            row_attrs, rank, document, snippet, link, row["score"], row["sources"], label,
        ))
    return format_html(
        '<table class="rag-results"><thead><tr><th>#</th><th>document</th><th>text</th><th>chunk</th>'
        "<th>score</th><th>sources</th><th></th></tr></thead><tbody>{}</tbody></table>",
        format_html_join("", "{}", ((line,) for line in lines)),
    )

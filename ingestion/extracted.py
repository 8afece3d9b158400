"""What every format's reader returns (`Extracted`) or raises (`Skip`), and the text helpers they share.

A reader returns an `Extracted` (the text to chunk, a title, whether headings start chunks, and for PDFs
the text of each page) or raises `Skip` with the reason shown to the user: a file that cannot be parsed is
reported, never a traceback. The readers are `ingestion.formats` (text, Markdown, the dispatch by name),
`ingestion.html_reader` and `ingestion.pdf_reader`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import PurePath

from ingestion.chunking import underlined_starts

MD_HEADING = re.compile(r"^#{1,6}[ \t]+(\S.*?)[ \t]*#*[ \t]*$", re.MULTILINE)
SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")
BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+")


class Skip(Exception):
    """The file is not ingestible; the message is the reason shown to the user."""


@dataclass(frozen=True)
class Extracted:
    text: str  # the whole text (PDF: the pages joined by blank lines)
    title: str
    markdown: bool = False  # `#` headings start chunks
    underlined: bool = False  # reStructuredText / setext underlined headings start chunks
    pages: tuple[tuple[int, str], ...] | None = None  # PDF: (page number, text) of every page with text


def title_for(text: str, name: str, markdown: bool, *, underlined: bool = False) -> str:
    """The first Markdown (or, `underlined`, underlined) heading, else the first line with a letter or digit,
    else the file's stem."""
    if markdown and (match := MD_HEADING.search(text)):
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


def inline(text: str) -> str:
    """The text on one line: runs of white space (newlines included) as one space, stripped."""
    return SPACES.sub(" ", (text or "").replace("\n", " ")).strip()

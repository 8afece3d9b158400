"""Split text into overlapping chunks at the most natural boundary that fits.

Pure and deterministic: the same text and parameters always give the same chunks, so chunk ids (which
hash the chunk text) stay stable across re-ingestion. Rules:

- Markdown headings (ATX `#`..`######`, outside ``` fences) start a new chunk; the heading path goes in
  `Chunk.headings`. A heading directly followed by another heading stays with the one below it.
- Underlined headings (reStructuredText sections and Markdown setext headings: a line of text under a line
  of one repeated punctuation character at least as long, optionally with the same line above, after a
  blank line), with `underlined=True`, do not start chunks: each chunk gets the heading path in force where
  it starts, in `Chunk.headings` (levels follow the order in which the styles first appear, as in
  reStructuredText). Splitting reStructuredText at its many small sections scored lower on the evaluation
  sets (docs/evaluation.md) than plain chunks that know their section.
- Inside a section a chunk ends, by preference, at a paragraph break, then a sentence end, then a word
  boundary, within the last half of the window; a single word longer than `size` is cut hard. So every
  chunk is at most `size` characters, never empty or whitespace-only.
- The next chunk starts at the first word start within the last `overlap` characters of the previous
  chunk (no overlap across headings, and none when a hard cut leaves no word start to restart from).
- Every non-whitespace character of the text lies in some chunk; chunk.text == text[start:end].
- Paged text (a PDF, `chunk_pages`): every page is chunked on its own, so a chunk never spans two pages
  and carries its page number in `Chunk.page` (start/end are offsets in that page's text).
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace

_HEADING = re.compile(r"^(#{1,6})[ \t]+(\S.*?)[ \t]*#*[ \t]*$")
_FENCE = re.compile(r"^[ \t]{0,3}(```|~~~)")
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_SENTENCE = re.compile(r"[.!?…][\"'”’)\]]*(?=\s)")
_SPACE = re.compile(r"\s")
_ADORNMENT = re.compile(r"""^([=\-`:'"~^_*+#<>.])\1{2,}[ \t]*$""")


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int
    end: int
    headings: tuple[str, ...] = ()
    page: int | None = None


@dataclass(frozen=True)
class _Section:
    start: int
    end: int
    headings: tuple[str, ...]


def check_parameters(size: int, overlap: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"chunk size must be a whole number >= 1, got {size!r}")
    if isinstance(overlap, bool) or not isinstance(overlap, int) or not 0 <= overlap < size:
        raise ValueError(f"chunk overlap must be a whole number from 0 to size - 1 ({size - 1}), got {overlap!r}")


def chunk_text(text: str, size: int, overlap: int = 0, *, markdown: bool = False,
               underlined: bool = False) -> list[Chunk]:
    """The chunks of `text`; `markdown=True` makes `#` headings start chunks and fills `headings`;
    `underlined=True` fills `headings` with the reStructuredText / setext heading path where each chunk starts."""
    check_parameters(size, overlap)
    if markdown:
        sections = markdown_sections(text)
    else:
        sections = [_Section(0, len(text), ())]
    chunks: list[Chunk] = []
    for section in sections:
        chunks.extend(_chunk_span(text, section, size, overlap))
    if underlined and not markdown:
        starts = underlined_starts(text)
        offsets = [offset for offset, _ in starts]
        chunks = [replace(chunk, headings=starts[bisect.bisect_right(offsets, chunk.start) - 1][1])
                  for chunk in chunks]
    return chunks


def chunk_pages(pages: Iterable[tuple[int, str]], size: int, overlap: int = 0) -> list[Chunk]:
    """The chunks of every (page number, text), page by page: none spans two pages, each knows its page."""
    check_parameters(size, overlap)
    chunks: list[Chunk] = []
    for number, text in pages:
        chunks.extend(replace(chunk, page=number) for chunk in chunk_text(text, size, overlap))
    return chunks


def markdown_sections(text: str) -> list[_Section]:
    """Spans of text starting at each heading, with the heading path; heading-only sections merge down."""
    starts: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    path: list[tuple[int, str]] = []
    in_fence = False
    offset = 0
    for line in text.splitlines(keepends=True):
        bare = line.rstrip("\r\n")
        if _FENCE.match(bare):
            in_fence = not in_fence
        elif not in_fence and (match := _HEADING.match(bare)):
            level = len(match.group(1))
            path = [(lvl, title) for lvl, title in path if lvl < level] + [(level, match.group(2))]
            starts.append((offset, tuple(title for _, title in path)))
        offset += len(line)
    return _merge_sections(text, starts)


def underlined_starts(text: str) -> list[tuple[int, tuple[str, ...]]]:
    """(offset, heading path) where each underlined heading starts (its overline, else its title line)."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    bare = [line.rstrip("\r\n") for line in lines]
    starts: list[tuple[int, tuple[str, ...]]] = [(0, ())]
    styles: list[tuple[str, bool]] = []
    path: list[tuple[int, str]] = []
    index = 1
    while index < len(bare):
        title, under = bare[index - 1].strip(), _ADORNMENT.match(bare[index])
        over = index >= 2 and bare[index - 2].strip() == bare[index].strip()
        before = index - (3 if over else 2)
        if (under and title and not _ADORNMENT.match(title) and not bare[index - 1][:1].isspace()
                and len(bare[index].strip()) >= len(title) and (before < 0 or not bare[before].strip())):
            style = (under.group(1), over)
            if style not in styles:
                styles.append(style)
            level = styles.index(style)
            path = [(lvl, name) for lvl, name in path if lvl < level] + [(level, title)]
            starts.append((offsets[index - (2 if over else 1)], tuple(name for _, name in path)))
        index += 1
    return starts


def _merge_sections(text: str, starts: list[tuple[int, tuple[str, ...]]]) -> list[_Section]:
    sections = []
    for index, (start, headings) in enumerate(starts):
        end = starts[index + 1][0] if index + 1 < len(starts) else len(text)
        if start < end:
            sections.append(_Section(start, end, headings))
    merged: list[_Section] = []
    pending_start = None
    for section in sections:
        start = section.start if pending_start is None else pending_start
        if section.headings and not _has_body(text, section) and section is not sections[-1]:
            pending_start = start  # a heading with nothing under it joins the next section
            continue
        pending_start = None
        merged.append(_Section(start, section.end, section.headings))
    return merged


def _has_body(text: str, section: _Section) -> bool:
    first_line_end = text.find("\n", section.start, section.end)
    return first_line_end != -1 and bool(text[first_line_end:section.end].strip())


def _chunk_span(text: str, section: _Section, size: int, overlap: int) -> list[Chunk]:
    end_limit = _rstrip(text, section.start, section.end)
    pos = _skip_space(text, section.start, end_limit)
    chunks = []
    while pos < end_limit:
        if end_limit - pos <= size:
            end = end_limit
        else:
            end = _break(text, pos, size, overlap)
        chunks.append(Chunk(text[pos:end], pos, end, section.headings))
        if end >= end_limit:
            break
        pos = _next_start(text, pos, end, overlap, end_limit)
    return chunks


def _break(text: str, pos: int, size: int, overlap: int) -> int:
    """Where the chunk starting at `pos` ends: paragraph, sentence, word boundary, else a hard cut."""
    window_end = pos + size
    floor = pos + max(size // 2, overlap)  # a natural break must leave a chunk over half full
    window = text[pos:window_end + 1]
    for pattern, use_end in ((_PARAGRAPH, False), (_SENTENCE, True), (_SPACE, False)):
        best = None
        for match in pattern.finditer(window):
            candidate = pos + (match.end() if use_end else match.start())
            if candidate > window_end:
                break
            candidate = _rstrip(text, pos, candidate)
            if candidate > floor:
                best = candidate
        if best is not None:
            return best
        if pattern is _SENTENCE:
            floor = pos + overlap  # any word boundary that still makes progress
    return window_end


def _next_start(text: str, pos: int, end: int, overlap: int, end_limit: int) -> int:
    """The first word start in the last `overlap` characters of the chunk, else the next non-space."""
    for index in range(max(end - overlap, pos + 1), end):
        if not text[index].isspace() and text[index - 1].isspace():
            return index
    return _skip_space(text, end, end_limit)


def _rstrip(text: str, start: int, end: int) -> int:
    while end > start and text[end - 1].isspace():
        end -= 1
    return end


def _skip_space(text: str, start: int, end: int) -> int:
    while start < end and text[start].isspace():
        start += 1
    return start


def reassemble(chunk_texts: list[str]) -> str:
    """Best-effort document text from its ordered chunks: overlaps removed, chunks joined by blank lines.

    Used wherever concepts are extracted, at ingestion and by reconcile alike, so both derive the same
    concepts from what PostgreSQL stores.
    """
    parts: list[str] = []
    previous = ""
    for text in chunk_texts:
        parts.append(text[_overlap(previous, text):])
        previous = text
    return "\n\n".join(part.strip() for part in parts if part.strip())


def _overlap(previous: str, text: str) -> int:
    """The longest `length` (< len(previous), <= len(text)) with previous ending in text[:length] right after
    whitespace (the chunker restarts at a word start), 0 if none. The longest overlap starts earliest, so the
    candidate starts are visited in order, jumping with str.find to those holding text's first character."""
    if not previous or not text:
        return 0
    start = max(1, len(previous) - len(text))
    first = text[0]
    while (start := previous.find(first, start)) != -1:
        if previous[start - 1].isspace() and text.startswith(previous[start:]):
            return len(previous) - start
        start += 1
    return 0

"""Chunking is pure: properties over arbitrary text, plus the boundary preferences on known inputs."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ingestion.chunking import chunk_text, markdown_sections, reassemble, underlined_starts

WORDS = st.sampled_from(["alpha", "beta", "gamma", "delta", "x", "longerwordhere", "#", "##", "Title.",
                         "end!", "why?", "```", "-", "1.", "supercalifragilisticexpialidocious"])
SEPARATORS = st.sampled_from([" ", " ", " ", "\n", "\n\n", "  ", "\t", "\n# ", "\n## "])
TEXTS = st.lists(st.tuples(WORDS, SEPARATORS), max_size=120).map(lambda pairs: "".join(w + s for w, s in pairs))


def _check(text, size, overlap, markdown):
    chunks = chunk_text(text, size, overlap, markdown=markdown)
    covered = set()
    for chunk in chunks:
        assert chunk.text.strip(), "no empty or whitespace-only chunk"
        assert chunk.text == text[chunk.start:chunk.end]
        assert len(chunk.text) <= size
        covered.update(range(chunk.start, chunk.end))
    missing = [i for i, ch in enumerate(text) if not ch.isspace() and i not in covered]
    assert not missing, "every non-whitespace character is in a chunk"
    for before, after in zip(chunks, chunks[1:]):
        assert after.start > before.start and after.end > before.end
        assert before.end - after.start <= overlap, "overlap never exceeds the setting"
        if before.headings != after.headings:
            assert after.start >= before.end, "no overlap across a heading"
    assert chunk_text(text, size, overlap, markdown=markdown) == chunks, "deterministic"
    return chunks


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, size=st.integers(1, 200), overlap_fraction=st.floats(0, 0.99), markdown=st.booleans())
@example(text="a" * 500, size=50, overlap_fraction=0.5, markdown=False)
@example(text="# A\n# B\n## C\ntext", size=5, overlap_fraction=0.0, markdown=True)
def test_chunks_cover_the_text_within_size_and_overlap(text, size, overlap_fraction, markdown):
    _check(text, size, min(size - 1, int(size * overlap_fraction)), markdown)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=600), size=st.integers(1, 120), overlap=st.integers(0, 119))
def test_arbitrary_unicode(text, size, overlap):
    _check(text, size, min(overlap, size - 1), True)


def test_prefers_paragraph_then_sentence_then_word():
    para = "First paragraph has several words. It ends here.\n\nSecond paragraph follows with more words."
    chunks = chunk_text(para, 70, 0)
    assert chunks[0].text == "First paragraph has several words. It ends here."
    sentence = "One sentence is here. Another sentence follows and it goes on and on."
    assert chunk_text(sentence, 40, 0)[0].text == "One sentence is here."
    words = "word " * 30
    first = chunk_text(words, 22, 0)[0].text
    assert first == "word word word word"


def test_overlap_restarts_at_a_word_start():
    text = " ".join(f"w{i:02d}" for i in range(40))
    chunks = chunk_text(text, 40, 12)
    assert len(chunks) > 2
    for before, after in zip(chunks, chunks[1:]):
        assert 0 < before.end - after.start <= 12
        assert text[after.start - 1] == " "


def test_long_word_is_cut_hard():
    chunks = chunk_text("short " + "z" * 120 + " tail", 50, 10)
    assert all(len(c.text) <= 50 for c in chunks)
    assert "".join(c.text for c in chunks if set(c.text) == {"z"})


def test_markdown_headings_start_chunks_with_their_path():
    text = "Intro line.\n\n# Guide\n\n## Install\nRun the installer.\n\n## Use\nCall it.\n```\n# not a heading\n```\n"
    chunks = chunk_text(text, 1000, 100, markdown=True)
    assert [c.headings for c in chunks] == [(), ("Guide", "Install"), ("Guide", "Use")]
    assert chunks[1].text.startswith("# Guide")  # a heading with nothing under it joins the next section
    assert chunks[2].text.startswith("## Use") and "# not a heading" in chunks[2].text
    assert chunk_text(text, 1000, 100, markdown=False)[0].text == text.strip()


def test_sections_are_contiguous():
    text = "# A\nx\n## B\ny\n# C\nz"
    sections = markdown_sections(text)
    assert sections[0].start == 0 and sections[-1].end == len(text)
    assert all(a.end == b.start for a, b in zip(sections, sections[1:]))


@pytest.mark.parametrize("size, overlap", [(0, 0), (10, 10), (10, -1), (True, 0)])
def test_bad_parameters(size, overlap):
    with pytest.raises(ValueError):
        chunk_text("text", size, overlap)


def test_reassemble_removes_overlaps():
    text = " ".join(f"token{i}" for i in range(60))
    chunks = [c.text for c in chunk_text(text, 80, 30)]
    assert reassemble(chunks).split() == text.split()
    assert reassemble([]) == ""


RST = """.. _how-to-fixtures:

=================
Using fixtures
=================

Intro paragraph.

Requesting fixtures
-------------------

Declare them as arguments.

Autouse
~~~~~~~

Runs without being asked.

  indented
  --------

Back to top level
-----------------
Tail. A table is not a heading:

=====  =====
a      b
=====  =====
"""


def test_underlined_headings_give_each_chunk_its_section_path():
    starts = underlined_starts(RST)
    assert [path for _, path in starts] == [
        (), ("Using fixtures",), ("Using fixtures", "Requesting fixtures"),
        ("Using fixtures", "Requesting fixtures", "Autouse"), ("Using fixtures", "Back to top level")]
    assert RST[starts[1][0]:].startswith("=====")  # an overlined title starts at its overline
    assert RST[starts[2][0]:].startswith("Requesting fixtures\n---")  # an indented line or a table is no title
    chunks = chunk_text(RST, 60, 0, underlined=True)
    plain = chunk_text(RST, 60, 0)
    assert [c.text for c in chunks] == [c.text for c in plain]  # headings do not split: same chunks, same text
    for chunk in chunks:
        expected = [path for offset, path in starts if offset <= chunk.start][-1]
        assert chunk.headings == expected
    assert any(c.headings == ("Using fixtures", "Requesting fixtures", "Autouse") for c in chunks)
    assert chunks[0].headings == ()  # the label before the title


def test_setext_heading_and_transition():
    text = "Title\n=====\n\nBody text.\n\n----------\n\nMore body.\n\nSection\n-------\nIts text.\n"
    assert [path for _, path in underlined_starts(text)] == [(), ("Title",), ("Title", "Section")]


UNDERLINED_WORDS = st.sampled_from(["alpha", "beta", "Title", "x", "====", "------", "~~~~~~~~", ".. _a:", "#"])
UNDERLINED_TEXTS = st.lists(st.tuples(UNDERLINED_WORDS, st.sampled_from([" ", "\n", "\n\n", "\n  "])),
                            max_size=120).map(lambda pairs: "".join(w + s for w, s in pairs))


@settings(max_examples=200, deadline=None)
@given(text=UNDERLINED_TEXTS, size=st.integers(1, 120), overlap_fraction=st.floats(0, 0.99))
def test_underlined_chunks_cover_the_text_within_size_and_overlap(text, size, overlap_fraction):
    overlap = min(size - 1, int(size * overlap_fraction))
    chunks = chunk_text(text, size, overlap, underlined=True)
    covered = {i for chunk in chunks for i in range(chunk.start, chunk.end)}
    assert all(chunk.text == text[chunk.start:chunk.end] and 0 < len(chunk.text) <= size for chunk in chunks)
    assert all(ch.isspace() or i in covered for i, ch in enumerate(text))
    assert chunk_text(text, size, overlap, underlined=True) == chunks

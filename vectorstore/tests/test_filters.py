"""Unit and property tests of the filter-literal builder (engine round trips: test_filters_integration.py)."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vectorstore.filters import build_filter, field_equals, field_expression, field_in, literal

_ESCAPES = {"\\": "\\", '"': '"', "n": "\n", "r": "\r", "t": "\t"}


def parse_literal(text: str):
    """A strict reference parser for the literals we emit; raises if the literal is not exactly one value."""
    if text in ("true", "false"):
        return text == "true"
    if not text.startswith('"'):
        number = float(text) if any(c in text for c in ".eE") else int(text)
        assert repr(number) == text or str(number) == text
        return number
    out, i = [], 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            assert i == len(text) - 1, f"literal ends early at {i}: {text!r}"
            return "".join(out)
        assert ch not in "\r\n", "raw line break inside a literal"
        if ch == "\\":
            out.append(_ESCAPES[text[i + 1]])  # KeyError: an escape the engines do not share
            i += 2
            continue
        out.append(ch)
        i += 1
    raise AssertionError(f"unterminated literal {text!r}")


@pytest.mark.parametrize(
    "value, expected",
    [
        ("plain", '"plain"'),
        ('say "hi"', r'"say \"hi\""'),
        ("back\\slash", r'"back\\slash"'),
        ("it's", '"it\'s"'),
        ("a\nb\rc\td", '"a\\nb\\rc\td"'),
        ('x" || true || "', r'"x\" || true || \""'),
        ("ünï 😀 中", '"ünï 😀 中"'),
        ("", '""'),
        (True, "true"),
        (False, "false"),
        (2024, "2024"),
        (-3, "-3"),
        (1.5, "1.5"),
        (1e16, "1e+16"),
    ],
)
def test_literal(value, expected):
    assert literal(value) == expected
    assert parse_literal(literal(value)) == value


@pytest.mark.parametrize(
    "value",
    [None, b"bytes", math.nan, math.inf, -math.inf, 2**63, -(2**63), "\ud800", [1], {"a": 1}, object()],
)
def test_literal_rejects(value):
    with pytest.raises(ValueError):
        literal(value)


@pytest.mark.parametrize(
    "field, expression",
    [
        ("document_id", "document_id"),
        ("chunk_id", "chunk_id"),
        ("metadata.lang", 'metadata["lang"]'),
        ('metadata["lang"]', 'metadata["lang"]'),
        ("metadata._x9", 'metadata["_x9"]'),
        ("metadata." + "k" * 64, f'metadata["{"k" * 64}"]'),
    ],
)
def test_field_whitelist_accepts(field, expression):
    assert field_expression(field) == expression


@pytest.mark.parametrize(
    "field",
    [
        "content", "embedding", "Document_id", "metadata", "metadata.", "metadata.a.b", "metadata.1x",
        "metadata.la-ng", 'metadata["a"] or 1 == 1', 'metadata["a\\"]', "metadata." + "k" * 65,
        "document_id or true", "", None, 3,
    ],
)
def test_field_whitelist_rejects(field):
    with pytest.raises(ValueError, match="cannot filter on"):
        field_expression(field)


def test_field_equals_and_in():
    assert field_equals("document_id", 'a"b') == r'document_id == "a\"b"'
    assert field_in("document_id", ["a", "b"]) == 'document_id in ["a", "b"]'
    # Lite has no `in` on JSON paths: metadata membership is spelled as ORed equalities.
    assert field_in("metadata.year", [2023, 2024]) == '(metadata["year"] == 2023 or metadata["year"] == 2024)'
    assert field_in("metadata.year", [2024]) == 'metadata["year"] == 2024'


@pytest.mark.parametrize(
    "call",
    [
        lambda: field_in("document_id", []),
        lambda: field_in("document_id", "abc"),
        lambda: field_in("document_id", [1]),
        lambda: field_equals("chunk_id", 5),
        lambda: build_filter([("document_id", "x")]),
        lambda: build_filter({"content": "x"}),
    ],
)
def test_bad_filters_raise_value_error(call):
    with pytest.raises(ValueError):
        call()


def test_build_filter_conjunction():
    built = build_filter({"document_id": "x", "metadata.lang": "en", "metadata.year": 2024})
    assert built == 'document_id == "x" and metadata["lang"] == "en" and metadata["year"] == 2024'
    assert build_filter({}) == "" and build_filter(None) == ""
    assert build_filter({"document_id": ["b", "a"]}) == 'document_id in ["b", "a"]'


scalars = st.one_of(
    st.text(),
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@given(scalars)
def test_literal_parses_back_to_the_value(value):
    parsed = parse_literal(literal(value))
    assert parsed == value and type(parsed) is type(value)

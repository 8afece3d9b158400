"""The one place Milvus filter expressions are built from values.

Neither engine we run supports `filter_params` (templated filters), so values become literals. Strings
are double-quoted with backslash, double quote, newline and carriage return escaped: the characters that
could end or break a literal. Milvus Lite 2.5 decodes only the first two escapes and refuses raw line
breaks, so a value holding a line break cannot be matched there (selectors.search says so); a tab stays raw,
which every engine reads as itself. Other control characters stay raw too; no lexer treats them specially
(verified on the engines by the integration tests). Field names come from a whitelist, never from free text.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

PLAIN_FIELDS = ("document_id", "chunk_id")  # VARCHAR columns that may be filtered on
# The metadata keys ingestion writes on every chunk (ingestion/store_sync.milvus_rows; `page` on PDF chunks only).
METADATA_KEYS = ("source", "title", "ordinal", "ext", "page")
METADATA_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_METADATA_DOTTED = re.compile(r"^metadata\.(?P<key>[^.]*)$")
_METADATA_BRACKETED = re.compile(r'^metadata\["(?P<key>[^"]*)"\]$')
# -2**63 is left out: standalone parses "-9223372036854775808" as minus 2**63, which overflows int64.
_INT64 = (-(2**63) + 1, 2**63 - 1)
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r"}
LINE_BREAKS = ("\n", "\r")


def literal(value) -> str:
    """A Milvus literal for a str, int, float or bool; anything else (None, bytes, NaN, inf) is a ValueError."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        if not _INT64[0] <= value <= _INT64[1]:
            raise ValueError(f"integer {value} cannot be written as a Milvus literal (range ±(2**63 - 1))")
        return str(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot filter on a non-finite number ({value!r})")
        return repr(float(value))
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("string is not valid Unicode text (lone surrogate)") from None
        return '"' + "".join(_ESCAPES.get(ch, ch) for ch in value) + '"'
    raise ValueError(
        f"cannot use a {type(value).__name__} value in a Milvus filter; use str, int, float or bool"
    )


def field_expression(field: str) -> str:
    """The expression for a whitelisted field: document_id, chunk_id, metadata.<key> or metadata["<key>"]."""
    if field in PLAIN_FIELDS:
        return field
    if isinstance(field, str):
        match = _METADATA_DOTTED.match(field) or _METADATA_BRACKETED.match(field)
        if match and METADATA_KEY.match(match["key"]):
            return f'metadata["{match["key"]}"]'
    raise ValueError(
        f"cannot filter on {field!r}: use document_id, chunk_id or metadata.<key> "
        f"with <key> matching {METADATA_KEY.pattern}"
    )


def metadata_key(field) -> str | None:
    """The key of a metadata.<key> / metadata["<key>"] field, None for any other field."""
    if not isinstance(field, str):
        return None
    match = _METADATA_DOTTED.match(field) or _METADATA_BRACKETED.match(field)
    return match["key"] if match else None


def _checked(field: str, value) -> str:
    if field in PLAIN_FIELDS and not isinstance(value, str):
        raise ValueError(f"{field} is text; got a {type(value).__name__} value")
    return literal(value)


def field_equals(field: str, value) -> str:
    return f"{field_expression(field)} == {_checked(field, value)}"


def field_in(field: str, values) -> str:
    """Membership test; metadata keys expand to ORed equalities (Lite has no `in` on JSON paths)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"field_in({field!r}) needs a list of values, got a {type(values).__name__}")
    values = list(values)
    if not values:
        raise ValueError(f"field_in({field!r}) needs at least one value")
    expression = field_expression(field)
    literals = [_checked(field, value) for value in values]
    if field in PLAIN_FIELDS:
        return f"{expression} in [{', '.join(literals)}]"
    if len(literals) == 1:
        return f"{expression} == {literals[0]}"
    return "(" + " or ".join(f"{expression} == {item}" for item in literals) + ")"


def line_break_field(mapping: Mapping | None) -> str | None:
    """The first field of a filter mapping whose (or one of whose) string values holds a line break, else None."""
    for field, value in (mapping or {}).items() if isinstance(mapping, Mapping) else ():
        values = value if isinstance(value, (list, tuple, set, frozenset)) else [value]
        if any(isinstance(item, str) and any(mark in item for mark in LINE_BREAKS) for item in values):
            return field
    return None


def build_filter(mapping: Mapping | None) -> str:
    """{"document_id": "x", "metadata.lang": "en", "metadata.year": [2023, 2024]} -> a conjunction ("" if empty).

    A list, tuple or set value means "any of these".
    """
    if not mapping:
        return ""
    if not isinstance(mapping, Mapping):
        raise ValueError(f"filters must be a mapping of field to value, got a {type(mapping).__name__}")
    terms = []
    for field, value in mapping.items():
        if isinstance(value, (list, tuple, set, frozenset)):
            ordered = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
            terms.append(field_in(field, ordered))
        else:
            terms.append(field_equals(field, value))
    return " and ".join(terms)

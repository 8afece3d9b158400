"""Filter literals against the real engines: hostile values round-trip exactly, on standalone AND Lite."""

import itertools

import pytest
from django.conf import settings
from hypothesis import HealthCheck, assume, example, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from vectorstore import client, lite, selectors, services
from vectorstore.filters import build_filter, field_in

from .conftest import unit_vector

pytestmark = pytest.mark.integration

HOSTILE = [
    'a"b', "a'b", "a\\b", "x || true", 'x" || document_id != "', "a) or (1 == 1", "l1\nl2", "cr\rlf\n",
    "tab\tx", "ünï 😀 中", '\\"', "\\", "'", '"', "end\\", "\x00nul", "\x01\x0b\x0c\x1f\x7f", "\u2028\u0085",
    "\\n", "\\'", "\\x41", "\\u0041", "%_*", "a\\\\b", "", " ",
]


def query_ids(expression):
    # Session consistency: read-your-writes for this client, without waiting a Strong tick on every one of
    # the many queries (product reads use Strong; this test is about literals, not consistency).
    rows = client.call(
        "query", settings.MILVUS_COLLECTION, filter=expression, output_fields=["chunk_id"],
        consistency_level="Session",
    )
    return sorted(row["chunk_id"] for row in rows)


def row(chunk_id, document_id, **metadata):
    return {"chunk_id": chunk_id, "document_id": document_id or "-",
            "embedding": unit_vector(settings.EMBEDDING_DIM, 0), "metadata": metadata}


def lite25() -> bool:
    return lite.lacks_aliases_and_properties(settings.MILVUS_URI)


def test_hostile_values_round_trip(collection):
    rows = [row(f"c{i}", value, k=value, n=i) for i, value in enumerate(HOSTILE)]
    services.upsert_chunks(rows)
    for i, value in enumerate(HOSTILE):
        expected = [f"c{i}"]
        if lite25() and ("\n" in value or "\r" in value):  # Lite 2.5's lexer cannot match a line break: said so
            with pytest.raises(ValueError, match="^filters: metadata.k holds a line break, which Milvus Lite 2.5 cannot match"):
                selectors.search(unit_vector(settings.EMBEDDING_DIM, 0), k=5, filters={"metadata.k": value})
            continue
        if value:  # document_id may not be empty
            assert query_ids(build_filter({"document_id": value})) == expected, value
            assert query_ids(field_in("document_id", [value, "zz-none"])) == expected, value
            hits = selectors.search(
                unit_vector(settings.EMBEDDING_DIM, 0), k=50, filters={"document_id": value}
            )
            assert [(h["chunk_id"], h["document_id"]) for h in hits] == [(f"c{i}", value)]
        assert query_ids(build_filter({"metadata.k": value})) == expected, value
        assert query_ids(build_filter({"metadata.k": value, "metadata.n": i})) == expected, value


_counter = itertools.count()
_stored: dict[str, list[tuple]] = {}  # collection -> (chunk_id, key, value) written by the property test

values = st.one_of(
    st.text(max_size=30),
    st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
)


@hypothesis_settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(min_size=1, max_size=30), value=values)
@example(text="edge", value=2**63 - 1)
@example(text="edge", value=-(2**63) + 1)
@example(text="edge", value=1.7976931348623157e308)
@example(text="edge", value=5e-324)
@example(text="edge", value=-0.0)
@example(text='"', value="")
def test_literals_round_trip_on_the_engine(collection, text, value):
    """Equality filters on what was stored find exactly the rows holding that value, and nothing else."""
    assume(len(text.encode("utf-8")) <= 128)
    if lite25():  # values with a line break cannot be matched on Milvus Lite 2.5 (test_hostile_values_round_trip)
        assume(not any(mark in text or (isinstance(value, str) and mark in value) for mark in "\r\n"))
    key = {str: "s", int: "i", float: "f", bool: "b"}[type(value)]  # one key per type: no cross-type equality
    number = next(_counter)
    services.upsert_chunks([row(f"h{number}", text, **{key: value, "n": number})])
    stored = _stored.setdefault(settings.MILVUS_COLLECTION, [])
    stored.append((f"h{number}", key, text, value))
    assert query_ids(build_filter({"document_id": text})) == sorted(c for c, _, t, _ in stored if t == text)
    assert query_ids(build_filter({f"metadata.{key}": value})) == sorted(
        c for c, k, _, v in stored if k == key and v == value
    )
    assert query_ids(build_filter({f"metadata.{key}": value, "metadata.n": number})) == [f"h{number}"]

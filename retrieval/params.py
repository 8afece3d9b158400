"""Validation of search requests: every bad value is a ValueError whose message starts with the field's name,
so the API, the command and the service report the same thing the same way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings

from vectorstore.filters import METADATA_KEYS, build_filter, metadata_key
from vectorstore.selectors import unmatchable_filter

SOURCES = ("vector", "graph", "keyword")
MAX_TEXT_CHARS = 2000
MAX_HOPS = 3
MAX_FILTER_FIELDS = 16
MAX_FILTER_VALUES = 100
KEYWORD_FILTERED_POOL = 1000  # full-text candidates fetched before a filter narrows them


class InvalidParameter(ValueError):
    """A search parameter is unusable; the message starts with the parameter's name."""


@dataclass(frozen=True)
class SearchParams:
    text: str
    k: int
    filters: dict
    hops: int
    weights: dict[str, float]

    @property
    def pool(self) -> int:
        """Candidates fetched per source: max(2k, SEARCH_POOL_MIN)."""
        return max(2 * self.k, settings.SEARCH_POOL_MIN)

    @property
    def keyword_filtered_pool(self) -> int:
        return max(self.pool, KEYWORD_FILTERED_POOL)

    @property
    def graph_enabled(self) -> bool:
        return self.hops > 0 and self.weights["graph"] > 0

    def as_logged(self, embedder: str) -> dict:
        return {"k": self.k, "filters": self.filters, "hops": self.hops, "weights": self.weights,
                "pool": self.pool,
                "max_chunks_per_document": settings.SEARCH_MAX_CHUNKS_PER_DOCUMENT, "fusion": settings.SEARCH_FUSION,
                "embedder": embedder}


def validate(text, *, k=None, filters=None, hops=None, weights=None) -> SearchParams:
    return SearchParams(
        text=checked_text(text),
        k=_whole("k", settings.SEARCH_DEFAULT_K if k is None else k, 1, settings.SEARCH_MAX_K),
        filters=checked_filters(filters),
        hops=_whole("hops", settings.SEARCH_GRAPH_HOPS if hops is None else hops, 0, MAX_HOPS),
        weights=checked_weights(weights),
    )


def checked_text(text) -> str:
    if not isinstance(text, str):
        raise InvalidParameter(f"query: expected text, got {type(text).__name__}")
    if not text.strip():
        raise InvalidParameter("query: must not be empty")
    if len(text) > MAX_TEXT_CHARS:
        raise InvalidParameter(f"query: at most {MAX_TEXT_CHARS} characters, got {len(text)}")
    storable("query", text)
    return text


def _whole(name: str, value, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidParameter(f"{name}: must be a whole number from {low} to {high}, got {value!r}")
    return value


def checked_filters(filters) -> dict:
    """{field: scalar or list of scalars}; fields and values checked by vectorstore.filters, the one escaper."""
    if filters is None:
        return {}
    if not isinstance(filters, Mapping):
        raise InvalidParameter(f"filters: expected an object of field to value, got {type(filters).__name__}")
    if len(filters) > MAX_FILTER_FIELDS:
        raise InvalidParameter(f"filters: at most {MAX_FILTER_FIELDS} fields")
    clean = {}
    for name, value in filters.items():
        if not isinstance(name, str):
            raise InvalidParameter(f"filters: field names must be text, got {name!r}")
        if isinstance(value, (list, tuple, set, frozenset)):
            value = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else list(value)
            if not 1 <= len(value) <= MAX_FILTER_VALUES:
                raise InvalidParameter(f"filters: {name} needs 1 to {MAX_FILTER_VALUES} values, got {len(value)}")
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str):
                storable(f"filters: {name}", item)
        clean[name] = value
    try:
        build_filter(clean)  # raises for an unknown field or an unusable value
    except ValueError as error:
        raise InvalidParameter(f"filters: {error}") from None
    problem = unmatchable_filter(clean)
    if problem:
        raise InvalidParameter(f"filters: {problem}")
    unknown = sorted({key for key in map(metadata_key, clean) if key is not None and key not in METADATA_KEYS})
    if unknown:  # Milvus would answer "no results", which reads as "nothing matches" rather than "a typo"
        raise InvalidParameter(f"filters: unknown metadata key(s) {', '.join(unknown)}; "
                               f"ingestion writes {', '.join(METADATA_KEYS)}")
    return clean


def checked_weights(weights) -> dict[str, float]:
    """settings.SEARCH_WEIGHTS with the given overrides; known sources only, finite and >= 0."""
    merged = {source: float(settings.SEARCH_WEIGHTS.get(source, 1.0)) for source in SOURCES}
    if weights is None:
        return merged
    if not isinstance(weights, Mapping):
        raise InvalidParameter(f"weights: expected an object of source to number, got {type(weights).__name__}")
    unknown = sorted(str(source) for source in weights if source not in SOURCES)
    if unknown:
        raise InvalidParameter(f"weights: unknown source(s) {', '.join(unknown)}; use {', '.join(SOURCES)}")
    for source, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
                or not 0 <= weight <= 100:
            raise InvalidParameter(f"weights: {source} must be a number from 0 to 100, got {weight!r}")
        merged[source] = float(weight)
    if not any(merged.values()):
        raise InvalidParameter("weights: at least one source needs a weight above 0")
    return merged


def storable(name: str, text: str) -> None:
    """PostgreSQL keeps the query log: it takes no NUL character and no lone surrogate."""
    if "\x00" in text:
        raise InvalidParameter(f"{name}: must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidParameter(f"{name}: is not valid Unicode text") from None

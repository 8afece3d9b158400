"""Checks of what callers hand the rag_data services, each turning the input into the value to store or raising
a ValidationError that names the field (so the API can answer 400 with it and the admin can show it on the form).

Kept apart from services.py so that the writes read as writes: what a service stores, in which transaction.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from rag_data.models import IDENTIFIER_MAX, SET_NAME, SET_NAME_MAX

MAX_RELEVANT_CHUNKS = 50


def set_name(value) -> str:
    """An evaluation set's name, as the model's SET_NAME pattern allows it."""
    if not isinstance(value, str) or not re.match(SET_NAME, value) or len(value) > SET_NAME_MAX:
        raise ValidationError({"set_name": f"Use 1 to {SET_NAME_MAX} letters, digits, '.', '_' or '-', "
                                           "starting with a letter or digit."})
    return value


def feedback_ids(values) -> list[int]:
    """Feedback ids (a queryset's, or any iterable of integers) without repeats, in their order; at least one."""
    if isinstance(values, QuerySet):
        values = values.values_list("pk", flat=True)
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError({"feedback_ids": "Expected a list of feedback ids."})
    ids = []
    for value in values:
        try:
            if isinstance(value, bool):
                raise ValueError
            ids.append(int(value))
        except (TypeError, ValueError):
            raise ValidationError({"feedback_ids": f"Not a feedback id: {value!r}."}) from None
    if not ids:
        raise ValidationError({"feedback_ids": "Select at least one feedback item."})
    return list(dict.fromkeys(ids))


def chunk_id_list(values) -> list[str]:
    """Chunk ids stripped and without repeats, in their order; at most MAX_RELEVANT_CHUNKS."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise ValidationError({"relevant_chunk_ids": "Expected a list of chunk ids."})
    chunks = []
    for value in values:
        if not isinstance(value, str) or not value.strip() or len(value.strip()) > IDENTIFIER_MAX:
            raise ValidationError({"relevant_chunk_ids": f"Not a chunk id: {value!r}."})
        chunks.append(value.strip())
    chunks = list(dict.fromkeys(chunks))
    if len(chunks) > MAX_RELEVANT_CHUNKS:
        raise ValidationError({"relevant_chunk_ids": f"At most {MAX_RELEVANT_CHUNKS} chunks."})
    return chunks


def as_uuid(value, field: str) -> uuid.UUID:
    """`value` as a UUID (a UUID, or its text)."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError({field: "Not a valid UUID."}) from None


def non_negative_ms(value, field: str) -> float:
    """A latency in milliseconds: a finite number, not negative (a bool is not a number here)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
        raise ValidationError({field: "Expected a finite, non-negative number of milliseconds."})
    return float(value)


def result_row(position: int, row) -> dict:
    """One ranked result as Query.results stores it: chunk_id, document_id, a finite score, its sources."""
    if not isinstance(row, Mapping):
        raise ValidationError({"results": f"Result {position} is not a mapping."})
    missing = [key for key in ("chunk_id", "document_id", "score") if key not in row]
    if missing:
        raise ValidationError({"results": f"Result {position} lacks {', '.join(missing)}."})
    score = row["score"]
    if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
        raise ValidationError({"results": f"Result {position} has a score that is not a finite number."})
    sources = row.get("sources") or []
    if isinstance(sources, str):
        sources = [sources]
    return {"chunk_id": str(row["chunk_id"]), "document_id": str(row["document_id"]),
            "score": float(score), "sources": [str(s) for s in sources]}

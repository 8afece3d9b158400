"""Request and response shapes of the JSON API, as the OpenAPI document shows them (/api/openapi.json)."""

from __future__ import annotations

import uuid
from typing import Literal

from ninja import Schema
from pydantic import ConfigDict, Field

Scalar = str | int | float | bool


class Error(Schema):
    error: str = Field(description="one line saying what went wrong; never a traceback or a secret")


class SearchIn(Schema):
    model_config = ConfigDict(extra="forbid", title="SearchRequest")

    query: str = Field(min_length=1, max_length=2000, description="the question")
    k: int | None = Field(None, ge=1, description="results wanted (default SEARCH_DEFAULT_K, at most SEARCH_MAX_K)")
    filters: dict[str, Scalar | list[Scalar]] | None = Field(
        None, description="field -> value or list of values (any of): document_id, chunk_id or "
                          "metadata.<key> with a key ingestion writes (source, title, ordinal, ext, page)")
    hops: int | None = Field(None, ge=0, le=3, description="graph expansion depth (default SEARCH_GRAPH_HOPS)")
    weights: dict[Literal["vector", "graph", "keyword"], float] | None = Field(
        None, description="fusion weight per source, 0-100 (defaults SEARCH_WEIGHT_*)")
    session_id: uuid.UUID | None = Field(None, description="the caller's conversation; created when new")


class Hit(Schema):
    rank: int
    chunk_id: str
    document_id: str
    content: str
    metadata: dict[str, Scalar]
    score: float
    sources: dict[str, int] = Field(description="source -> rank in that source's list")


class SearchOut(Schema):
    query_id: uuid.UUID = Field(description="send it back with feedback")
    results: list[Hit]
    latency_ms: dict[str, float] = Field(description="milliseconds per stage, and total")


class FeedbackIn(Schema):
    model_config = ConfigDict(extra="forbid", title="FeedbackRequest")

    query_id: uuid.UUID
    rating: Literal[-1, 0, 1] = Field(description="-1 thumbs down, 0 neutral, 1 thumbs up")
    chunk_id: str | None = Field(None, description="one of the query's results, when the verdict is on it")
    comment: str | None = Field(None, max_length=5000)


class FeedbackOut(Schema):
    feedback_id: int


ERRORS = {400: Error, 401: Error, 403: Error, 413: Error, 415: Error, 429: Error, 503: Error}


class DocumentTextIn(Schema):
    model_config = ConfigDict(extra="forbid", title="DocumentTextRequest")

    text: str = Field(min_length=1, description="the document itself (or send a file as multipart/form-data)")
    name: str | None = Field(None, description="file name; its extension says the format (.md, .txt, .rst, .html)")
    content_type: str | None = Field(None, description="the format when the name has no extension (default text/plain)")
    id: str | None = Field(None, description="document id (default: upload- + SHA-256 of the bytes)")
    metadata: dict | None = Field(None, description="kept with the upload; `title` becomes the document's title")


class Submitted(Schema):
    job_id: int
    document_id: str


class Stores(Schema):
    postgres: bool
    milvus: bool
    neo4j: bool


class Job(Schema):
    id: int
    task: str = Field(description="ingest, delete, reconcile or reembed")
    status: str = Field(description="todo, doing, succeeded, failed, cancelled or aborted")
    attempts: int
    document_id: str | None
    error: str = Field(description="the last failed run's reason (one line)")
    queued_at: str | None
    started_at: str | None
    finished_at: str | None
    result: dict | None


class DocumentOut(Schema):
    document_id: str
    title: str
    source_path: str
    status: str = Field(description="pending, complete, failed, deleting (ledger), or queued (a job, no row yet)")
    stores: Stores
    chunks: int
    last_error: str
    created_at: str | None
    updated_at: str | None


class DocumentDetail(DocumentOut):
    jobs: list[Job] = Field(description="the document's latest jobs, newest first")


class DocumentPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[DocumentOut]

"""PostgreSQL models: who asked what (Session, Query), what reviewers think of it (Feedback), and the
ingestion ledger (Document, Chunk) that records which of the three stores holds each document.

Invariants live in the database (CheckConstraint, UniqueConstraint) so that every writer -- the
services, the admin, raw SQL from a migration -- is held to them, not only the forms.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

SHA256_HEX = r"^[0-9a-f]{64}$"
# Slug-ish identifiers shared with Milvus primary keys and Neo4j node ids.
IDENTIFIER = r"^[A-Za-z0-9][A-Za-z0-9._:-]*$"
IDENTIFIER_MAX = 128

sha256_validator = RegexValidator(SHA256_HEX, "Expected a lowercase SHA-256 hex digest (64 characters).")
identifier_validator = RegexValidator(
    IDENTIFIER, "Use letters, digits, '.', '_', ':' or '-', starting with a letter or digit."
)


def _excerpt(text: str, length: int = 60) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= length else text[: length - 1] + "…"


class Session(models.Model):
    """A client conversation; `external_id` is the caller's own user/client identifier, if it sends one."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    external_id = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    last_seen_at = models.DateTimeField(default=timezone.now)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-last_seen_at"]

    def __str__(self) -> str:
        return f"session {self.external_id or str(self.id)[:8]}"


class Query(models.Model):
    """One retrieval request and what it returned.

    `parameters` holds the request knobs (k, filters, weights, hops, ...); `results` is a list of
    {chunk_id, document_id, score, sources}; `stage_latency_ms` maps stage name -> milliseconds.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    session = models.ForeignKey(
        Session, null=True, blank=True, on_delete=models.SET_NULL, related_name="queries"
    )
    text = models.TextField()
    parameters = models.JSONField(default=dict, blank=True)
    results = models.JSONField(default=list, blank=True)
    latency_ms = models.FloatField()
    stage_latency_ms = models.JSONField(default=dict, blank=True)
    api_key = models.ForeignKey("apikeys.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="queries", help_text="The API key that asked (none: CLI or auth off)")
    created_at = models.DateTimeField(default=timezone.now, db_index=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "queries"
        constraints = [
            models.CheckConstraint(condition=Q(latency_ms__gte=0), name="rag_query_latency_non_negative"),
            models.CheckConstraint(condition=~Q(text=""), name="rag_query_text_not_empty"),
        ]

    def __str__(self) -> str:
        return _excerpt(self.text)


class Feedback(models.Model):
    """A user's verdict on a query (or on one chunk of its results), and the review of that verdict.

    Rating is a thumb, not a star scale: -1 thumbs down, 0 neutral, 1 thumbs up. A thumb is what a
    chat UI can ask for without friction, and it makes "show me the bad answers" a single filter.
    """

    class Rating(models.IntegerChoices):
        DOWN = -1, "thumbs down"
        NEUTRAL = 0, "neutral"
        UP = 1, "thumbs up"

    class ReviewState(models.TextChoices):
        NEW = "new", "new"
        REVIEWED = "reviewed", "reviewed"
        DISMISSED = "dismissed", "dismissed"

    query = models.ForeignKey(Query, on_delete=models.CASCADE, related_name="feedback")
    rating = models.SmallIntegerField(choices=Rating.choices)
    chunk_id = models.CharField(max_length=IDENTIFIER_MAX, blank=True, default="", help_text="Milvus chunk id")
    comment = models.TextField(blank=True, default="")
    api_key = models.ForeignKey("apikeys.ApiKey", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="feedback", help_text="The API key that sent it")
    review_state = models.CharField(max_length=16, choices=ReviewState.choices, default=ReviewState.NEW)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "feedback"
        indexes = [
            models.Index(fields=["review_state", "created_at"], name="rag_feedback_state_created"),
            models.Index(fields=["rating", "created_at"], name="rag_feedback_rating_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(rating__gte=-1, rating__lte=1), name="rag_feedback_rating_range"
            ),
            models.CheckConstraint(
                condition=Q(review_state__in=["new", "reviewed", "dismissed"]),
                name="rag_feedback_review_state_valid",
            ),
            # A review leaves a timestamp; reviewed_by may be NULL later if the reviewer is deleted.
            models.CheckConstraint(
                condition=(Q(review_state="new", reviewed_at__isnull=True)
                           | (~Q(review_state="new") & Q(reviewed_at__isnull=False))),
                name="rag_feedback_reviewed_at_iff_reviewed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_rating_display()} on query {str(self.query_id)[:8]}"


class Document(models.Model):
    """Ingestion ledger: one row per source document, with which stores already hold its chunks."""

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        COMPLETE = "complete", "complete"
        FAILED = "failed", "failed"
        # Removal from the stores has begun; reconcile finishes it if the deleting process died.
        DELETING = "deleting", "deleting"

    document_id = models.CharField(
        max_length=IDENTIFIER_MAX, unique=True, validators=[identifier_validator]
    )
    source_path = models.CharField(max_length=1024)
    title = models.CharField(max_length=512, blank=True, default="")
    content_hash = models.CharField(max_length=64, validators=[sha256_validator])
    in_postgres = models.BooleanField(default=False)
    in_milvus = models.BooleanField(default=False)
    in_neo4j = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    last_error = models.TextField(blank=True, default="", help_text="Redacted one-line error")
    # What the uploader sent with an uploaded document (ingestion/uploads.py); {} for files.
    metadata = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["document_id"]
        indexes = [models.Index(fields=["status", "updated_at"], name="rag_document_status_updated")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["pending", "complete", "failed", "deleting"]),
                name="rag_document_status_valid",
            ),
            models.CheckConstraint(condition=Q(content_hash__regex=SHA256_HEX), name="rag_document_hash_sha256"),
            models.CheckConstraint(condition=Q(document_id__regex=IDENTIFIER), name="rag_document_id_format"),
            # "complete" is a claim about all three stores; the database refuses it otherwise.
            models.CheckConstraint(
                condition=~Q(status="complete") | Q(in_postgres=True, in_milvus=True, in_neo4j=True),
                name="rag_document_complete_in_all_stores",
            ),
        ]

    def __str__(self) -> str:
        return self.document_id


class Chunk(models.Model):
    """A chunk of a document; `chunk_id` is the same key as the Milvus primary key and the Neo4j node."""

    chunk_id = models.CharField(
        max_length=IDENTIFIER_MAX, primary_key=True, validators=[identifier_validator]
    )
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    ordinal = models.PositiveIntegerField()
    text = models.TextField()
    content_hash = models.CharField(max_length=64, validators=[sha256_validator])
    # Where the chunk sits: its document's title and section heading path ("Title › Section › Subsection"),
    # written at ingestion. Not shown as the chunk's text; embedded with it and weighted in the keyword leg.
    context = models.TextField(blank=True, default="")
    # Keyword leg of hybrid retrieval: the 'english' tsvector of `context` (weight A) and `text` (weight B),
    # computed by PostgreSQL on every write (GENERATED ALWAYS AS (setweight(to_tsvector('english', COALESCE(context,
    # '')), 'A') || setweight(to_tsvector('english', COALESCE(text, '')), 'B')) STORED), so a search ranks
    # stored vectors instead of parsing every matching chunk's text at query time.
    search_vector = models.GeneratedField(
        expression=SearchVector("context", config="english", weight="A")
        + SearchVector("text", config="english", weight="B"),
        output_field=SearchVectorField(), db_persist=True,
    )

    class Meta:
        ordering = ["document_id", "ordinal"]
        constraints = [
            models.UniqueConstraint(fields=["document", "ordinal"], name="rag_chunk_document_ordinal_unique"),
            models.CheckConstraint(condition=Q(content_hash__regex=SHA256_HEX), name="rag_chunk_hash_sha256"),
        ]
        indexes = [
            # Keyword leg of hybrid retrieval: `search_vector @@ query` uses this index.
            GinIndex(fields=["search_vector"], name="rag_chunk_search_vector"),
        ]

    def __str__(self) -> str:
        return self.chunk_id


SET_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
SET_NAME_MAX = 64
set_name_validator = RegexValidator(SET_NAME, "Use letters, digits, '.', '_' or '-', starting with a letter or digit.")


class EvaluationCase(models.Model):
    """A rated question with the chunks a reviewer marked relevant, run by `manage.py evaluate --from-feedback`.

    Usually promoted from reviewed feedback (rag_data.services.promote_feedback). `relevant_document_ids` is
    derived from `relevant_chunk_ids` by the services whenever those change: the documents are what the
    evaluation scores against (document ids survive a re-ingestion; chunk ids change with the chunking). An
    empty `relevant_chunk_ids` means the case waits for a reviewer to choose them; the evaluation skips it.
    """

    set_name = models.CharField(max_length=SET_NAME_MAX, default="feedback", db_index=True,
                                validators=[set_name_validator])
    query_text = models.TextField()
    relevant_chunk_ids = models.JSONField(default=list, blank=True)
    relevant_document_ids = models.JSONField(default=list, blank=True)
    feedback = models.ForeignKey(Feedback, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="evaluation_cases")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["set_name", "-created_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(query_text=""), name="rag_evalcase_query_not_empty"),
            models.CheckConstraint(condition=Q(set_name__regex=SET_NAME), name="rag_evalcase_set_name_format"),
            # One feedback becomes at most one case per set: promoting it twice does not double its weight.
            models.UniqueConstraint(fields=["set_name", "feedback"], condition=Q(feedback__isnull=False),
                                    name="rag_evalcase_set_feedback_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.set_name}: {_excerpt(self.query_text)}"

    @property
    def is_ready(self) -> bool:
        return bool(self.relevant_chunk_ids)

"""Read-only admin pages for what the API and the ingestion pipeline write: queries (with their feedback),
sessions, documents and chunks. Nobody edits these by hand, so every page here only shows.
"""

from __future__ import annotations

from django.contrib import admin

from rag_data.admin.results import results_table
from rag_data.models import Chunk, Document, Feedback, Query, Session


class ViewOnly:
    """No add, change or delete: these rows are written by the API or the ingestion pipeline, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(ViewOnly, admin.ModelAdmin):
    """A model page that only shows."""


class FeedbackInline(ViewOnly, admin.TabularInline):
    """A query's feedback on the query's page; each row links to the feedback's own (reviewable) page."""

    model = Feedback
    fields = ("created_at", "rating", "chunk_id", "comment", "review_state")
    readonly_fields = fields
    extra = 0
    show_change_link = True


@admin.register(Query)
class QueryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "text_excerpt", "latency_ms", "result_count", "session", "api_key")
    list_filter = (("created_at", admin.DateFieldListFilter), "api_key")
    date_hierarchy = "created_at"
    search_fields = ("text",)
    list_select_related = ("session", "api_key")
    fields = (
        "id", "session", "api_key", "created_at", "text", "parameters", "latency_ms", "stage_latency_ms",
        "results_html",
    )
    readonly_fields = fields
    inlines = (FeedbackInline,)

    @admin.display(description="text", ordering="text")
    def text_excerpt(self, obj):
        return str(obj)

    @admin.display(description="results")
    def result_count(self, obj):
        return len(obj.results) if isinstance(obj.results, list) else 0

    @admin.display(description="results")
    def results_html(self, obj):
        return results_table(obj.results, query_text=obj.text)


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    list_display = ("__str__", "external_id", "created_at", "last_seen_at")
    list_filter = (("last_seen_at", admin.DateFieldListFilter),)
    search_fields = ("external_id",)
    fields = ("id", "external_id", "created_at", "last_seen_at", "metadata")
    readonly_fields = fields


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = ("document_id", "title", "status", "in_postgres", "in_milvus", "in_neo4j", "updated_at")
    list_filter = ("status", "in_postgres", "in_milvus", "in_neo4j")
    search_fields = ("document_id", "title", "source_path")


@admin.register(Chunk)
class ChunkAdmin(ReadOnlyAdmin):
    list_display = ("chunk_id", "document", "ordinal", "text_excerpt")
    list_filter = ("document__status",)
    search_fields = ("chunk_id", "document__document_id")
    list_select_related = ("document",)

    @admin.display(description="text")
    def text_excerpt(self, obj):
        text = " ".join(obj.text.split())
        return text if len(text) <= 80 else text[:79] + "…"

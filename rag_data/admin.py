"""Admin for reviewing feedback and inspecting queries and the ingestion ledger.

Thin on purpose: state changes go through rag_data.services, reads for exports through rag_data.selectors.
Queries, sessions, documents and chunks are written by the API and the ingestion pipeline, so they are
read-only here.
"""

from __future__ import annotations

import csv

from django.contrib import admin, messages
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from rag_data import selectors, services
from rag_data.models import Chunk, Document, Feedback, Query, Session


def results_table(results, rated_chunk_id: str = ""):
    """The ranked results as a small HTML table; every value is escaped by format_html."""
    rows = selectors.result_rows(results)
    if not rows:
        return "—"
    body = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (rank, row["chunk_id"], row["document_id"], row["score"], row["sources"],
             "◀ rated" if rated_chunk_id and row["chunk_id"] == rated_chunk_id else "")
            for rank, row in enumerate(rows, start=1)
        ),
    )
    return format_html(
        '<table class="rag-results"><thead><tr><th>#</th><th>chunk_id</th><th>document_id</th>'
        "<th>score</th><th>sources</th><th></th></tr></thead><tbody>{}</tbody></table>",
        body,
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    """View-only: these rows are written by the API or the ingestion pipeline, never by hand."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class _Echo:
    """A file-like object whose write() hands the line back, so csv.writer can feed a streaming response."""

    def write(self, value):
        return value


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("created_at", "rating", "review_state", "query_excerpt", "chunk_id")
    list_filter = ("rating", "review_state", ("created_at", admin.DateFieldListFilter))
    date_hierarchy = "created_at"
    search_fields = ("comment", "query__text", "chunk_id")
    list_select_related = ("query",)
    actions = ("mark_reviewed", "export_csv")
    fields = (
        "query_link", "rating", "chunk_id", "comment", "review_state",
        "reviewed_by", "reviewed_at", "created_at", "query_results",
    )
    readonly_fields = (
        "query_link", "rating", "chunk_id", "comment", "reviewed_by", "reviewed_at",
        "created_at", "query_results",
    )

    def has_add_permission(self, request):
        return False  # feedback comes from users through services.record_feedback

    @admin.display(description="query", ordering="query__text")
    def query_excerpt(self, obj):
        return str(obj.query)

    @admin.display(description="query")
    def query_link(self, obj):
        url = reverse("admin:rag_data_query_change", args=[obj.query_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.query))

    @admin.display(description="query results")
    def query_results(self, obj):
        return results_table(obj.query.results, obj.chunk_id)

    def save_model(self, request, obj, form, change):
        # Only review_state is editable; the service keeps reviewed_by/reviewed_at consistent with it.
        services.set_feedback_review_state(obj.pk, form.cleaned_data["review_state"], request.user)

    @admin.action(description="Mark as reviewed", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        count = services.mark_feedback_reviewed(queryset, request.user)
        self.message_user(request, f"{count} feedback item(s) marked as reviewed.", messages.SUCCESS)

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        writer = csv.writer(_Echo())
        lines = (writer.writerow(row) for row in selectors.feedback_csv_rows(queryset))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="feedback-{stamp}.csv"'
        return response


class FeedbackInline(admin.TabularInline):
    model = Feedback
    fields = ("created_at", "rating", "chunk_id", "comment", "review_state")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Query)
class QueryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "text_excerpt", "latency_ms", "result_count", "session")
    list_filter = (("created_at", admin.DateFieldListFilter),)
    date_hierarchy = "created_at"
    search_fields = ("text",)
    list_select_related = ("session",)
    fields = (
        "id", "session", "created_at", "text", "parameters", "latency_ms", "stage_latency_ms", "results_html",
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
        return results_table(obj.results)


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

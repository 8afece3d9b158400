"""The feedback review page: the reviewer's list of feedback, each with the query's results, and its actions
(mark reviewed, promote to the evaluation set, export as CSV).

Thin on purpose: state changes go through rag_data.services, the export through rag_data.admin.export.
Feedback comes from users through the API, so it cannot be added here and only its review state is editable.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from rag_data import services
from rag_data.admin.export import feedback_csv_response
from rag_data.admin.results import results_table
from rag_data.models import Feedback

COMMENT_CHARS = 60


@admin.register(Feedback)
class FeedbackAdmin(admin.ModelAdmin):
    list_display = ("created_at", "rating", "review_state", "query_excerpt", "comment_excerpt", "chunk_id", "api_key")
    list_filter = ("rating", "review_state", ("created_at", admin.DateFieldListFilter), "api_key")
    date_hierarchy = "created_at"
    search_fields = ("comment", "query__text", "chunk_id")
    list_select_related = ("query", "api_key")
    actions = ("mark_reviewed", "promote_to_evaluation", "export_csv")
    fields = (
        "query_link", "rating", "chunk_id", "comment", "review_state",
        "reviewed_by", "reviewed_at", "created_at", "api_key", "query_results",
    )
    readonly_fields = (
        "query_link", "rating", "chunk_id", "comment", "reviewed_by", "reviewed_at",
        "created_at", "api_key", "query_results",
    )

    def has_add_permission(self, request):
        return False  # feedback comes from users through services.record_feedback

    @admin.display(description="query", ordering="query__text")
    def query_excerpt(self, obj):
        return str(obj.query)

    @admin.display(description="comment", ordering="comment")
    def comment_excerpt(self, obj):
        text = " ".join(obj.comment.split())
        return text if len(text) <= COMMENT_CHARS else text[: COMMENT_CHARS - 1] + "…"

    @admin.display(description="query")
    def query_link(self, obj):
        url = reverse("admin:rag_data_query_change", args=[obj.query_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.query))

    @admin.display(description="query results")
    def query_results(self, obj):
        return results_table(obj.query.results, obj.chunk_id, query_text=obj.query.text,
                             rated_label=f"rated: {obj.get_rating_display()}")

    def has_promote_permission(self, request):
        return request.user.has_perm("rag_data.add_evaluationcase")

    def save_model(self, request, obj, form, change):
        # Only review_state is editable; the service keeps reviewed_by/reviewed_at consistent with it.
        services.set_feedback_review_state(obj.pk, form.cleaned_data["review_state"], request.user)

    @admin.action(description="Mark as reviewed", permissions=["change"])
    def mark_reviewed(self, request, queryset):
        count = services.mark_feedback_reviewed(queryset, request.user)
        self.message_user(request, f"{count} feedback item(s) marked as reviewed.", messages.SUCCESS)

    @admin.action(description="Promote to evaluation set", permissions=["promote"])
    def promote_to_evaluation(self, request, queryset):
        try:
            promotion = services.promote_feedback(queryset, user=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
            return
        cases = reverse("admin:rag_data_evaluationcase_changelist")
        parts = [f"{len(promotion.created)} feedback item(s) promoted to the evaluation set 'feedback'"]
        if promotion.already_promoted:
            parts.append(f"{len(promotion.already_promoted)} already in it (left unchanged)")
        self.message_user(request, "; ".join(parts) + ".", messages.SUCCESS)
        if promotion.waiting:
            self.message_user(request, format_html(
                '{} case(s) have no relevant chunk yet (thumbs down, neutral, or a thumb on the whole answer): '
                '<a href="{}?ready=no">choose the relevant chunks</a>; until then the evaluation skips them.',
                len(promotion.waiting), cases), messages.WARNING)

    @admin.action(description="Export as CSV", permissions=["view"])
    def export_csv(self, request, queryset):
        return feedback_csv_response(queryset)

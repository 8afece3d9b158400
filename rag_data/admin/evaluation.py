"""The evaluation cases' admin: where a reviewer chooses the relevant chunks of a case promoted from feedback.

Cases are only made by promoting reviewed feedback (the Feedback page's action), so they cannot be added here;
the relevant chunks are checked and saved by rag_data.services, which derives their documents.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import format_html

from rag_data import selectors, services
from rag_data.admin.results import results_table
from rag_data.models import EvaluationCase


class ReadyFilter(admin.SimpleListFilter):
    title = "relevant chunks chosen"
    parameter_name = "ready"

    def lookups(self, request, model_admin):
        return (("yes", "yes"), ("no", "no: waiting for a reviewer"))

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(relevant_chunk_ids=[])
        if self.value() == "no":
            return queryset.filter(relevant_chunk_ids=[])
        return queryset


class EvaluationCaseForm(forms.ModelForm):
    """The reviewer edits the relevant chunks as chunk ids, one per line; their documents are derived on save."""

    relevant_chunks = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 60}),
        help_text="One chunk id per line (copy them from the results below, or from Chunks). Empty: the case "
                  "waits, and `evaluate --from-feedback` skips it.",
    )

    class Meta:
        model = EvaluationCase
        fields = ("set_name",)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["relevant_chunks"].initial = "\n".join(self.instance.relevant_chunk_ids)

    def clean(self):
        cleaned = super().clean()
        lines = [line.strip() for line in (cleaned.get("relevant_chunks") or "").splitlines() if line.strip()]
        feedback = self.instance.feedback
        try:
            cleaned["relevant_chunk_ids"], _ = services.relevant_documents_for(
                lines, feedback.query.results if feedback else ())
        except ValidationError as error:
            self.add_error("relevant_chunks", error.message_dict.get("relevant_chunk_ids", error.messages))
        set_name = cleaned.get("set_name")
        if set_name and self.instance.feedback_id and selectors.feedback_is_case_elsewhere(
                set_name=set_name, feedback_id=self.instance.feedback_id, case_id=self.instance.pk):
            self.add_error("set_name", f"This feedback is already a case of the set {set_name!r}.")
        return cleaned


@admin.register(EvaluationCase)
class EvaluationCaseAdmin(admin.ModelAdmin):
    form = EvaluationCaseForm
    list_display = ("id", "set_name", "query_excerpt", "relevant_count", "ready", "feedback_link", "created_by",
                    "created_at")
    list_filter = ("set_name", ReadyFilter)
    search_fields = ("query_text",)
    list_select_related = ("feedback", "created_by")
    fields = ("set_name", "query_text", "relevant_chunks", "relevant_document_ids", "feedback_link",
              "source_results", "created_by", "created_at")
    readonly_fields = ("query_text", "relevant_document_ids", "feedback_link", "source_results", "created_by",
                       "created_at")

    def has_add_permission(self, request):
        return False  # cases come from reviewed feedback: Feedback -> "Promote to evaluation set"

    @admin.display(description="query", ordering="query_text")
    def query_excerpt(self, obj):
        text = " ".join(obj.query_text.split())
        return text if len(text) <= 80 else text[:79] + "…"

    @admin.display(description="relevant chunks")
    def relevant_count(self, obj):
        return len(obj.relevant_chunk_ids)

    @admin.display(description="ready", boolean=True)
    def ready(self, obj):
        return obj.is_ready

    @admin.display(description="feedback")
    def feedback_link(self, obj):
        if obj.feedback_id is None:
            return "—"
        url = reverse("admin:rag_data_feedback_change", args=[obj.feedback_id])
        return format_html('<a href="{}">{}</a>', url, str(obj.feedback))

    @admin.display(description="the query's results when it was rated")
    def source_results(self, obj):
        if obj.feedback_id is None:
            return "—"
        feedback = obj.feedback
        return results_table(feedback.query.results, feedback.chunk_id, query_text=obj.query_text,
                             rated_label=f"rated: {feedback.get_rating_display()}",
                             relevant_ids=obj.relevant_chunk_ids)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("feedback__query", "created_by")

    def save_model(self, request, obj, form, change):
        updated = services.set_evaluation_case(obj.pk, relevant_chunk_ids=form.cleaned_data["relevant_chunk_ids"],
                                               set_name=form.cleaned_data["set_name"])
        obj.__dict__.update({"relevant_chunk_ids": updated.relevant_chunk_ids,
                             "relevant_document_ids": updated.relevant_document_ids})

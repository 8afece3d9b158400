"""Admin for reviewing feedback and inspecting queries and the ingestion ledger.

Thin on purpose: state changes go through rag_data.services, reads for exports through rag_data.selectors.
Queries, sessions, documents and chunks are written by the API and the ingestion pipeline, so they are
read-only here.
"""

from __future__ import annotations

import csv
import re

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.utils import quote
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe

from rag_data import selectors, services
from rag_data.models import Chunk, Document, EvaluationCase, Feedback, Query, Session


# Words too common to be worth marking in a snippet.
STOP_WORDS = frozenset(
    "a an and are as at be by can do does for from how i in is it its of on or that the this to what when "
    "where which who why will with".split()
)
SNIPPET_CHARS = 240
RATED_STYLE = "background: #fff3cd; font-weight: bold;"


def query_words(text: str) -> list[str]:
    """The query's words worth marking: lowercase, at least 2 characters, common words left out."""
    words = (word.lower() for word in re.findall(r"\w+", str(text or "")))
    return list(dict.fromkeys(w for w in words if len(w) >= 2 and w not in STOP_WORDS))


def highlighted_snippet(text: str, words, length: int = SNIPPET_CHARS):
    """Up to `length` characters of `text` around the first of `words`, each word (and its longer forms:
    "graph" marks "graphs") in <mark>; every piece of text is escaped, so chunk and query text cannot inject HTML."""
    text = " ".join(str(text).split())
    words = sorted(words, key=len, reverse=True)
    pattern = re.compile(r"\b(?:" + "|".join(map(re.escape, words)) + r")\w*", re.IGNORECASE) if words else None
    first = pattern.search(text) if pattern else None
    start = 0
    if first is not None and first.start() > length // 3:
        start = text.find(" ", first.start() - length // 3) + 1 or first.start()
    snippet = text[start:start + length]
    pieces = [escape("…")] if start else []
    last = 0
    for match in pattern.finditer(snippet) if pattern else ():
        pieces += [escape(snippet[last:match.start()]), format_html("<mark>{}</mark>", match.group())]
        last = match.end()
    pieces.append(escape(snippet[last:]))
    if start + length < len(text):
        pieces.append(escape("…"))
    return mark_safe("".join(str(piece) for piece in pieces))  # noqa: S308 -- every piece escaped above


def chunk_link(chunk_id: str):
    url = reverse("admin:rag_data_chunk_change", args=[quote(chunk_id)])
    return format_html('<a href="{}">{}</a>', url, chunk_id)


def results_table(results, rated_chunk_id: str = "", *, query_text: str = "", rated_label: str = "rated",
                  relevant_ids=()):
    """The ranked results as an HTML table: rank, document title, a snippet of the chunk's text with the query's
    words marked, a link to the chunk, score and sources. The rated chunk's row stands out (class "rag-rated"
    and a label); chunks in `relevant_ids` are labelled "relevant". The chunks' text and titles come from
    PostgreSQL in one SELECT; every value is escaped (format_html)."""
    rows = selectors.result_rows(results)
    if not rows:
        return "—"
    chunks = selectors.chunk_texts(rows)
    words = query_words(query_text)
    relevant_ids = set(relevant_ids)
    lines = []
    for rank, row in enumerate(rows, start=1):
        chunk = chunks.get(row["chunk_id"])
        if chunk is None:
            document = format_html("{}", row["document_id"])
            snippet = format_html("<em>{}</em>", "chunk no longer in the ledger")
            link = format_html("{}", row["chunk_id"])
        else:
            document = format_html('{}<br><small>{}</small>', chunk["title"], chunk["document_id"])
            snippet = highlighted_snippet(chunk["text"], words)
            link = chunk_link(row["chunk_id"])
        labels = []
        rated = bool(rated_chunk_id) and row["chunk_id"] == rated_chunk_id
        if rated:
            labels.append(format_html("<strong>◀ {}</strong>", rated_label))
        if row["chunk_id"] in relevant_ids:
            labels.append(format_html("<strong>{}</strong>", "✔ relevant"))
        label = format_html_join(" ", "{}", ((item,) for item in labels))
        row_attrs = format_html(' class="rag-rated" style="{}"', RATED_STYLE) if rated else ""
        lines.append(format_html(
            "<tr{}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            row_attrs, rank, document, snippet, link, row["score"], row["sources"], label,
        ))
    return format_html(
        '<table class="rag-results"><thead><tr><th>#</th><th>document</th><th>text</th><th>chunk</th>'
        "<th>score</th><th>sources</th><th></th></tr></thead><tbody>{}</tbody></table>",
        format_html_join("", "{}", ((line,) for line in lines)),
    )


COMMENT_CHARS = 60


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
        writer = csv.writer(_Echo())
        lines = (writer.writerow(row) for row in selectors.feedback_csv_rows(queryset))
        response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="feedback-{stamp}.csv"'
        return response


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
        if set_name and self.instance.feedback_id and EvaluationCase.objects.filter(
                set_name=set_name, feedback_id=self.instance.feedback_id).exclude(pk=self.instance.pk).exists():
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
    list_display = ("created_at", "text_excerpt", "latency_ms", "result_count", "session", "api_key")
    list_filter = (("created_at", admin.DateFieldListFilter), "api_key")
    date_hierarchy = "created_at"
    search_fields = ("text",)
    list_select_related = ("session", "api_key")
    fields = (
        "id", "session", "api_key", "created_at", "text", "parameters", "latency_ms", "stage_latency_ms", "results_html",
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

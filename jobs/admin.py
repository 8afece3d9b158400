"""Uploads waiting for their job, and job outcomes, read-only. The jobs themselves (status, attempts, events,
retry of a failed job) are in procrastinate's own admin ("Procrastinate" section), installed with its app."""

from __future__ import annotations

from django.contrib import admin

from jobs.models import JobOutcome, Upload
from rag_data.admin.ledger import ViewOnly


@admin.register(Upload)
class UploadAdmin(ViewOnly, admin.ModelAdmin):
    list_display = ("id", "document_id", "name", "content_type", "size", "created_at")
    search_fields = ("document_id", "name")
    exclude = ("data",)  # the bytes stay out of the page
    readonly_fields = ("document_id", "name", "content_type", "source_path", "metadata", "size", "sha256",
                       "created_at")

    def has_delete_permission(self, request, obj=None):  # a failed upload may be cleared by hand
        return admin.ModelAdmin.has_delete_permission(self, request, obj)


@admin.register(JobOutcome)
class JobOutcomeAdmin(ViewOnly, admin.ModelAdmin):
    list_display = ("job_id", "task", "document_id", "error", "updated_at")
    list_filter = ("task",)
    search_fields = ("document_id", "error")

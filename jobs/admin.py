"""Uploads waiting for their job, and job outcomes, read-only. The jobs themselves (status, attempts, events,
retry of a failed job) are in procrastinate's own admin ("Procrastinate" section), installed with its app."""

from __future__ import annotations

from django.contrib import admin

from jobs.models import JobOutcome, Upload


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Upload)
class UploadAdmin(ReadOnly):
    list_display = ("id", "document_id", "name", "content_type", "size", "created_at")
    search_fields = ("document_id", "name")
    exclude = ("data",)  # the bytes stay out of the page
    readonly_fields = ("document_id", "name", "content_type", "source_path", "metadata", "size", "sha256",
                       "created_at")


@admin.register(JobOutcome)
class JobOutcomeAdmin(ReadOnly):
    list_display = ("job_id", "task", "document_id", "error", "updated_at")
    list_filter = ("task",)
    search_fields = ("document_id", "error")

    def has_delete_permission(self, request, obj=None):
        return False

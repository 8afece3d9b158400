"""Admin: the drift reports (newest first, counts per store; the detail lists example ids per kind), and
repair as an explicit action. Read-only otherwise; the action goes through drift.services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html_join

from drift.models import KINDS, LABELS, DriftReport


@admin.register(DriftReport)
class DriftReportAdmin(admin.ModelAdmin):
    list_display = ("created_at", "total", "postgres", "milvus", "neo4j", "settling", "duration", "error")
    list_filter = ("created_at",)
    date_hierarchy = "created_at"
    readonly_fields = ("created_at", "duration", "documents", "milvus_rows", "total", "settling", "error",
                       "by_kind")
    fields = readonly_fields
    actions = ("repair_now", "check_now")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="PostgreSQL")
    def postgres(self, report):
        return report.by_store()["postgres"]

    @admin.display(description="Milvus")
    def milvus(self, report):
        return report.by_store()["milvus"]

    @admin.display(description="Neo4j")
    def neo4j(self, report):
        return report.by_store()["neo4j"]

    @admin.display(description="duration")
    def duration(self, report):
        return f"{report.duration_ms / 1000:.2f} s"

    @admin.display(description="drift by kind (examples)")
    def by_kind(self, report):
        rows = ((store, LABELS[kind], report.counts.get(kind, 0), ", ".join(report.examples.get(kind, [])) or "-")
                for kind, store in KINDS.items())
        return format_html_join("\n", "<div><b>{}</b> {}: {} &nbsp; <code>{}</code></div>", rows)

    @admin.action(description="Repair the drift now (reconcile: a job when the job queue runs)")
    def repair_now(self, request, queryset):
        from drift import services  # loads the store drivers: only when asked

        message = services.request_repair()
        level = messages.ERROR if message.startswith("reconcile stopped") else messages.SUCCESS
        self.message_user(request, message, level)

    @admin.action(description="Run a drift check now (records a new report)")
    def check_now(self, request, queryset):
        from drift import services

        report = services.run_drift_check()
        self.message_user(request, f"drift report {report.id}: {services.summary(report)}",
                          messages.WARNING if not report.ok else messages.SUCCESS)

"""Admin for the audit trail (read-only, filterable, exportable) and staff profiles."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, StreamingHttpResponse
from django.urls import URLPattern, path
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import (
    ClockedSchedule,
    CrontabSchedule,
    PeriodicTask,
    SolarSchedule,
)

from portal.admin_times import local_time_column, localised
from portal.audit import audit_record
from portal.models import AuditEvent, StaffProfile
from portal.roles import VIEW_AUDIT
from portal.services import staff_profile_save

CSV_COLUMNS = (
    "id",
    "created_at",
    "actor",
    "action",
    "tenant",
    "outcome",
    "request_id",
    "source_ip",
    "details",
    "prev_hash",
    "hash",
)


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin[AuditEvent]):
    list_display = (
        "created_at_local",
        "actor",
        "action",
        "operation",
        "tenant",
        "outcome",
        "source_ip",
        "request_id",
    )
    list_filter = ("outcome", "action", "created_at")
    search_fields = ("actor", "action", "tenant", "request_id")
    date_hierarchy = "created_at"
    readonly_fields = localised(CSV_COLUMNS[1:], ("created_at",))
    created_at_local = local_time_column("created_at", "Time")
    change_list_template = "admin/portal/auditevent/change_list.html"

    @admin.display(description="Operation")
    def operation(self, obj: AuditEvent) -> str:
        """Which operation an operation.* event is about (the same action repeats per kind)."""
        details = obj.details if isinstance(obj.details, dict) else {}
        if "operation" not in details:
            return ""
        return f"#{details['operation']} {details.get('kind', '')}".strip()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        export = path(
            "export.csv",
            self.admin_site.admin_view(self.export_csv),
            name="portal_auditevent_export",
        )
        return [export, *super().get_urls()]

    def export_csv(self, request: HttpRequest) -> StreamingHttpResponse:
        """The events the change list currently shows (same filters and search), as CSV."""
        if not request.user.has_perm(VIEW_AUDIT):
            raise PermissionDenied
        changelist = self.get_changelist_instance(request)
        events = changelist.get_queryset(request).order_by("id")
        audit_record(
            action="audit.export",
            actor=request.user,
            request=request,
            details={"filters": dict(request.GET.lists()), "rows": events.count()},
        )
        writer = csv.writer(_Echo())

        def rows() -> Iterator[str]:
            yield writer.writerow(CSV_COLUMNS)
            for event in events.iterator(chunk_size=2000):
                yield writer.writerow(
                    [
                        event.pk,
                        event.created_at.isoformat(),
                        event.actor,
                        event.action,
                        event.tenant,
                        event.outcome,
                        event.request_id,
                        event.source_ip or "",
                        event.details,
                        event.prev_hash,
                        event.hash,
                    ]
                )

        response = StreamingHttpResponse(rows(), content_type="text/csv")
        response["Content-Disposition"] = 'attachment; filename="audit-events.csv"'
        return response


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin[StaffProfile]):
    list_display = ("user", "only_assigned_tenants")
    list_filter = ("only_assigned_tenants",)
    search_fields = ("user__username", "user__email")

    def save_model(self, request: HttpRequest, obj: StaffProfile, form: Any, change: bool) -> None:
        staff_profile_save(profile=obj, actor=request.user, changed=list(form.changed_data))


class LocalTimesPeriodicTaskAdmin(PeriodicTaskAdmin):  # type: ignore[misc]
    """django-celery-beat's periodic tasks with their times in the portal's zone and UTC."""

    list_display = localised(PeriodicTaskAdmin.list_display, ("start_time", "last_run_at"))
    start_time_local = local_time_column("start_time", "Start time")
    last_run_at_local = local_time_column("last_run_at", "Last run")


if admin.site.is_registered(PeriodicTask):
    admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, LocalTimesPeriodicTaskAdmin)


# The refresh schedules are interval-based; clocked, crontab and solar schedules are noise in the
# admin unless an installation opts in (PORTAL_ADMIN_ALL_SCHEDULES).
if not settings.PORTAL_ADMIN_ALL_SCHEDULES:
    for unused in (ClockedSchedule, CrontabSchedule, SolarSchedule):
        if admin.site.is_registered(unused):
            admin.site.unregister(unused)

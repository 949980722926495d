"""What the API sends and accepts (pydantic, through django-ninja), which is also the OpenAPI
schema. Times are ISO-8601 in UTC; the API never formats for a person."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Schema


class ProblemOut(Schema):
    type: str
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: list[dict[str, str]] | None = Field(
        None, description="For invalid input: [{field, message}]."
    )


class AlertCounts(Schema):
    high: int
    medium: int
    low: int
    informational: int


class TenantSummary(Schema):
    slug: str
    display_name: str
    region: str
    account_manager: str | None
    status: str = Field(description="healthy, degraded, down or unknown (the monitoring snapshot).")
    reasons: list[str]
    status_since: datetime | None
    as_of: datetime | None = Field(description="When the snapshot was read from Azure.")
    stale: bool = Field(description="Older than two refresh intervals.")
    pool_name: str
    pool_use_percent: float | None
    latest_restore_point: datetime | None
    open_alerts: AlertCounts
    posture_failures: int


class TenantPage(Schema):
    count: int
    offset: int
    limit: int
    items: list[TenantSummary]


class AppHealth(Schema):
    state: str
    availability: str
    availability_reason: str
    plan_sku: str
    plan_instances: int | None
    requests_24h: int | None
    http_5xx_24h: int | None
    response_ms: float | None


class DatabaseHealth(Schema):
    status: str
    service_objective: str
    size_bytes: int | None
    max_size_bytes: int | None
    cpu_percent: float | None
    storage_percent: float | None
    availability: str


class PoolOut(Schema):
    name: str
    region: str
    sku_name: str
    capacity: int | None
    cpu_percent: float | None
    storage_percent: float | None
    workers_percent: float | None
    database_share_percent: float | None
    as_of: datetime | None


class WindowPart(Schema):
    database_name: str
    earliest: datetime
    latest: datetime


class LongTermBackup(Schema):
    id: str
    backup_time: datetime
    expires_at: datetime | None
    database_name: str | None


class DeletedDatabase(Schema):
    id: str
    name: str
    deleted_at: datetime


class Backups(Schema):
    earliest_restore_point: datetime | None
    latest_restore_point: datetime | None
    pitr_days: int | None
    redundancy: str
    geo_backup_latest: datetime | None
    restore_window: list[WindowPart] = Field(
        description="The point-in-time window across the tenant's lineage (restore snapshot)."
    )
    restore_window_collected_at: datetime | None
    long_term_backups: list[LongTermBackup]
    deleted_databases: list[DeletedDatabase]


class AlertOut(Schema):
    id: int
    name: str
    display_name: str
    severity: str
    status: str
    generated_at: datetime


class PostureOut(Schema):
    check: str
    title: str
    expected: str
    actual: str
    passed: bool
    read_at: datetime


class TenantDetail(TenantSummary):
    app: AppHealth | None
    database: DatabaseHealth | None
    pool: PoolOut | None
    backups: Backups
    alerts: list[AlertOut]
    posture: list[PostureOut]


class StepOut(Schema):
    position: int
    key: str
    label: str
    state: str
    started_at: datetime | None
    finished_at: datetime | None
    message: str
    error_message: str


class OperationOut(Schema):
    id: int
    kind: str
    state: str
    subject: str
    tenant: str | None
    requested_by: str
    approved_by: str | None
    reason: str
    ticket: str
    created_at: datetime
    approval_expires_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    error_code: str
    error_message: str
    outcome: str


class OperationDetail(OperationOut):
    parameters: dict[str, Any]
    steps: list[StepOut]


class OperationPage(Schema):
    count: int
    offset: int
    limit: int
    items: list[OperationOut]


class RestoreIn(Schema):
    """A restore as the UI's form asks for it."""

    tenant: str = Field(description="The tenant's slug.")
    mode: Literal["parallel", "in_place"]
    source: Literal["point_in_time", "long_term_backup", "deleted_database"] = "point_in_time"
    when: str = Field(
        "",
        description="For point_in_time: 'YYYY-MM-DD HH:MM[:SS]' in the portal's time zone, or "
        "UTC with zone='utc'.",
    )
    zone: Literal["local", "utc"] = "local"
    long_term_backup_id: str = ""
    dropped_database_id: str = ""
    reason: str = Field(min_length=1, max_length=2000, description="Goes into the audit trail.")
    ticket: str = Field("", max_length=100)


class PlanCheck(Schema):
    what: str
    finding: str


class RestorePlanOut(Schema):
    tenant: str
    kind: str
    needs_approval: bool
    checks: list[PlanCheck]
    steps: list[str]
    plan_token: str = Field(description="Send it back to POST /restores to request the restore.")
    plan_expires_at: datetime


class RestoreConfirmIn(RestoreIn):
    plan_token: str = Field(min_length=1)

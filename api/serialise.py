"""Models and snapshots as the API's plain values (the schemas in api/schemas.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from backups.models import RestoreSnapshot
from monitoring.freshness import is_stale
from monitoring.models import HealthStatus, TenantHealth
from monitoring.selectors import TenantSnapshot
from operations.models import Operation
from tenants.models import Tenant


def _health(tenant: Tenant) -> TenantHealth | None:
    # A tenant never refreshed has no health row (monitoring.selectors.fleet_for_user).
    return getattr(tenant, "health", None)


def tenant_summary(tenant: Tenant, health: TenantHealth | None = None) -> dict[str, Any]:
    health = health or _health(tenant)
    manager = tenant.account_manager
    return {
        "slug": tenant.slug,
        "display_name": tenant.display_name,
        "region": tenant.region,
        "account_manager": manager.get_username() if manager else None,
        "status": health.status if health else HealthStatus.UNKNOWN,
        "reasons": list(health.reasons) if health else [],
        "status_since": health.status_since if health else None,
        "as_of": health.as_of if health else None,
        "stale": is_stale(health.as_of if health else None),
        "pool_name": health.pool_name if health else "",
        "pool_use_percent": health.pool_use_percent if health else None,
        "latest_restore_point": health.backup_latest if health else None,
        "open_alerts": {
            "high": health.alerts_high if health else 0,
            "medium": health.alerts_medium if health else 0,
            "low": health.alerts_low if health else 0,
            "informational": health.alerts_informational if health else 0,
        },
        "posture_failures": health.posture_failures if health else 0,
    }


def _app(health: TenantHealth) -> dict[str, Any]:
    return {
        "state": health.app_state,
        "availability": health.app_availability,
        "availability_reason": health.app_availability_reason,
        "plan_sku": health.plan_sku,
        "plan_instances": health.plan_instances,
        "requests_24h": health.app_requests_24h,
        "http_5xx_24h": health.app_5xx_24h,
        "response_ms": health.app_response_ms,
    }


def _database(health: TenantHealth) -> dict[str, Any]:
    return {
        "status": health.db_status,
        "service_objective": health.db_service_objective,
        "size_bytes": health.db_size_bytes,
        "max_size_bytes": health.db_max_size_bytes,
        "cpu_percent": health.db_cpu_percent,
        "storage_percent": health.db_storage_percent,
        "availability": health.db_availability,
    }


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _backups(health: TenantHealth | None, restore: RestoreSnapshot | None) -> dict[str, Any]:
    return {
        "earliest_restore_point": health.backup_earliest if health else None,
        "latest_restore_point": health.backup_latest if health else None,
        "pitr_days": health.pitr_days if health else None,
        "redundancy": health.backup_redundancy if health else "",
        "geo_backup_latest": health.geo_backup_latest if health else None,
        "restore_window": [
            {
                "database_name": part["database_name"],
                "earliest": _iso(part["earliest"]),
                "latest": _iso(part["latest"]),
            }
            for part in (restore.window_parts if restore else [])
        ],
        "restore_window_collected_at": restore.collected_at if restore else None,
        "long_term_backups": [
            {
                "id": b["id"],
                "backup_time": _iso(b["backup_time"]),
                "expires_at": _iso(b.get("expires_at")),
                "database_name": b.get("database_name"),
            }
            for b in (restore.long_term_backups if restore else [])
        ],
        "deleted_databases": [
            {"id": d["id"], "name": d["name"], "deleted_at": _iso(d["deleted_at"])}
            for d in (restore.dropped_databases if restore else [])
        ],
    }


def tenant_detail(snapshot: TenantSnapshot, restore: RestoreSnapshot | None) -> dict[str, Any]:
    health, pool = snapshot.health, snapshot.pool
    return {
        **tenant_summary(snapshot.tenant, health),
        "app": _app(health) if health else None,
        "database": _database(health) if health else None,
        "pool": {
            "name": pool.name,
            "region": pool.region,
            "sku_name": pool.sku_name,
            "capacity": pool.capacity,
            "cpu_percent": pool.cpu_percent,
            "storage_percent": pool.storage_percent,
            "workers_percent": pool.workers_percent,
            "database_share_percent": health.pool_share_percent if health else None,
            "as_of": pool.as_of,
        }
        if pool
        else None,
        "backups": _backups(health, restore),
        "alerts": [
            {
                "id": a.pk,
                "name": a.name,
                "display_name": a.display_name,
                "severity": a.severity,
                "status": a.status,
                "generated_at": a.generated_at,
            }
            for a in snapshot.alerts
        ],
        "posture": [
            {
                "check": c.check_name,
                "title": c.title,
                "expected": c.expected,
                "actual": c.actual,
                "passed": c.passed,
                "read_at": c.read_at,
            }
            for c in snapshot.posture
        ],
    }


def operation_summary(operation: Operation) -> dict[str, Any]:
    return {
        "id": operation.pk,
        "kind": operation.kind,
        "state": operation.state,
        "subject": operation.subject_label,
        "tenant": operation.tenant.slug if operation.tenant else None,
        "requested_by": operation.requested_by.get_username(),
        "approved_by": operation.approved_by.get_username() if operation.approved_by else None,
        "reason": operation.reason,
        "ticket": operation.ticket,
        "created_at": operation.created_at,
        "approval_expires_at": operation.approval_expires_at,
        "started_at": operation.started_at,
        "finished_at": operation.finished_at,
        "error_code": operation.error_code,
        "error_message": operation.error_message,
        "outcome": operation.outcome,
    }


def operation_detail(operation: Operation) -> dict[str, Any]:
    return {
        **operation_summary(operation),
        "parameters": operation.parameters,
        "steps": [
            {
                "position": s.position,
                "key": s.key,
                "label": s.label,
                "state": s.state,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
                "message": s.message,
                "error_message": s.error_message,
            }
            for s in operation.steps.order_by("position")
        ],
    }

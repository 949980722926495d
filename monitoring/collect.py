"""Reading each hot source for a fleet: subscription- and server-scope lists, Resource Health
(only what is not Available) and Defender alerts. Each function only reads Azure and returns a
SourceResult; the pipeline applies it. A failure of one subscription or server marks only its
tenants as unavailable for that source, with the reason."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from backups import window
from monitoring.fleet import Fleet, SourceResult
from portal.azure import availability, defender, inventory
from portal.azure import sql as azure_sql
from portal.azure.errors import AzureError
from tenants.models import Tenant


def read_apps(fleet: Fleet) -> SourceResult:
    result = SourceResult()
    for key, subscription in fleet.subscriptions.items():
        tenants = fleet.by_subscription[key]
        try:
            sites = inventory.sites_list(subscription)
        except AzureError as exc:
            result.fail(tenants, f"App Service list failed: {exc}")
            continue
        seen = set()
        for site in sites:
            tenant = fleet.by_site.get(site.id.lower())
            if tenant is None:
                continue
            seen.add(tenant.pk)
            result.set(tenant, app_state=site.state, app_https_only=site.https_only)
        missing = [t for t in tenants if t.pk not in seen]
        result.fail(missing, "The App Service site was not found in its subscription.")
    return result


def read_plans(fleet: Fleet) -> SourceResult:
    """Plan SKU and instance count (hourly: they change only when someone scales)."""
    result = SourceResult()
    for key, subscription in fleet.subscriptions.items():
        tenants = fleet.by_subscription[key]
        try:
            plans = {p.id.lower(): p for p in inventory.plans_list(subscription)}
        except AzureError as exc:
            result.fail(tenants, f"App Service plan list failed: {exc}")
            continue
        for tenant in tenants:
            if not tenant.app_service_plan_id:
                continue  # away from home: its standby's plan is not in the catalogue
            plan = plans.get(tenant.app_service_plan_id.lower())
            if plan is None:
                result.fail([tenant], "The App Service plan was not found in its subscription.")
            else:
                result.set(tenant, plan_sku=plan.sku_name, plan_instances=plan.instances)
    return result


def read_databases(fleet: Fleet) -> SourceResult:
    result = SourceResult()
    for key, server_id in fleet.servers.items():
        tenants = fleet.by_server[key]
        try:
            databases = azure_sql.databases_list(server_id)
        except AzureError as exc:
            result.fail(tenants, f"Database list failed: {exc}")
            continue
        seen = set()
        for db in databases:
            tenant = fleet.by_database.get(db.id.lower())
            if tenant is None:
                continue
            seen.add(tenant.pk)
            parts = _window_parts(tenant, db, databases)
            result.set(
                tenant,
                db_status=db.status,
                db_service_objective=db.service_objective,
                db_max_size_bytes=db.max_size_bytes,
                backup_earliest=parts[0].earliest if parts else db.earliest_restore_date,
                backup_window_parts=[part.as_json() for part in parts],
                backup_redundancy=db.backup_storage_redundancy,
                region=db.location.replace(" ", "").lower(),
            )
        missing = [t for t in tenants if t.pk not in seen]
        result.fail(missing, "The database was not found on its server.")
    return result


def _window_parts(
    tenant: Tenant, live: azure_sql.DatabaseInfo, databases: list[azure_sql.DatabaseInfo]
) -> list[window.WindowPart]:
    """The restore window across the tenant's lineage, from the server's list already read
    (kept pre-restore databases sit on the same server): no extra call."""
    latest = timezone.now() - timedelta(minutes=settings.RESTORE_LATEST_LAG_MINUTES)
    kept = window.kept_databases(tenant.database_name, databases)
    return window.lineage_parts(live=live, kept=kept, latest=latest)


def read_pools(fleet: Fleet) -> SourceResult:
    """Pool rows (extra["pools"], by lower-case id); the pool's tenants get the pool's name."""
    result = SourceResult(extra={"pools": {}, "failed": {}})
    for key, server_id in fleet.servers.items():
        try:
            pools = inventory.pools_list(server_id)
        except AzureError as exc:
            for pool_key, tenants in fleet.by_pool.items():
                if pool_key.startswith(key + "/"):
                    result.extra["failed"][pool_key] = f"Elastic pool list failed: {exc}"
                    result.fail(tenants, f"Elastic pool list failed: {exc}")
            continue
        for pool in pools:
            result.extra["pools"][pool.id.lower()] = pool
            for tenant in fleet.by_pool.get(pool.id.lower(), []):
                result.set(tenant, pool_name=pool.name)
    return result


def read_resource_health(fleet: Fleet) -> SourceResult:
    """Sites and databases not named by Resource Health's not-Available lists are Available."""
    result = SourceResult()
    for key, subscription in fleet.subscriptions.items():
        tenants = fleet.by_subscription[key]
        try:
            rows = availability.availability_not_available(subscription)
        except AzureError as exc:
            result.fail(tenants, f"Resource Health failed: {exc}")
            continue
        for tenant in tenants:
            result.set(
                tenant,
                app_availability="Available",
                app_availability_reason="",
                db_availability="Available",
                db_availability_reason="",
            )
        for row in rows:
            key_id = row.resource_id.lower()
            site_owner = fleet.by_site.get(key_id)
            prefix = "app" if site_owner else "db"
            owner = site_owner or fleet.by_database.get(key_id)
            if owner is not None:
                result.set(
                    owner,
                    **{
                        f"{prefix}_availability": row.state,
                        f"{prefix}_availability_reason": row.summary[:500],
                    },
                )
    return result


def read_alerts(fleet: Fleet, now: datetime) -> SourceResult:
    """Alerts mapped to tenants by the resource they name (or the tenant's resource group);
    extra["alerts"] = [(tenant pk, AlertRow)], extra["subscriptions"] = the ones read."""
    result = SourceResult(extra={"alerts": [], "subscriptions": []})
    for key, subscription in fleet.subscriptions.items():
        tenants = fleet.by_subscription[key]
        try:
            alerts = defender.alerts_list(subscription)
        except AzureError as exc:
            result.fail(tenants, f"Defender alerts failed: {exc}")
            continue
        result.extra["subscriptions"].append(key)
        by_group = {
            f"/subscriptions/{key}/resourcegroups/{t.resource_group.lower()}/": t for t in tenants
        }
        for tenant in tenants:
            result.set(tenant)
        for alert in alerts:
            owner = _alert_tenant(fleet, alert, by_group)
            if owner is not None:
                result.extra["alerts"].append((owner.pk, alert))
    return result


def _alert_tenant(
    fleet: Fleet, alert: defender.AlertRow, by_group: dict[str, Tenant]
) -> Tenant | None:
    """The tenant whose resource the alert names, else whose resource group holds it."""
    for resource_id in alert.resource_ids:
        owner = fleet.tenant_of_resource(resource_id)
        if owner is not None:
            return owner
    alert_id = alert.id.lower()
    return next((t for prefix, t in by_group.items() if alert_id.startswith(prefix)), None)


def read_recommendations(fleet: Fleet) -> SourceResult:
    """Defender's unhealthy recommendations per tenant: the recommendation metadata once, then
    one assessments list per subscription, each row mapped by the resource it names."""
    result = SourceResult()
    if not fleet.subscriptions:
        return result
    try:
        metadata = defender.recommendation_metadata(next(iter(fleet.subscriptions.values())))
    except AzureError as exc:
        result.fail(fleet.tenants, f"Defender recommendation metadata failed: {exc}")
        return result
    for key, subscription in fleet.subscriptions.items():
        tenants = fleet.by_subscription[key]
        try:
            rows = defender.unhealthy_assessments(subscription, metadata)
        except AzureError as exc:
            result.fail(tenants, f"Defender recommendations failed: {exc}")
            continue
        found: dict[int, list[dict[str, str]]] = {t.pk: [] for t in tenants}
        for row in rows:
            owner = fleet.tenant_of_resource(row.resource_id)
            if owner is not None and owner.pk in found:
                found[owner.pk].append(_recommendation(row))
        for tenant in tenants:
            ordered = sorted(found[tenant.pk], key=lambda r: (_severity_rank(r), r["name"]))
            result.set(tenant, recommendations=ordered, open_recommendations=len(ordered))
    return result


_SEVERITIES = ("High", "Medium", "Low")


def _severity_rank(row: dict[str, str]) -> int:
    """High first; an unknown severity last."""
    severity = row["severity"]
    return _SEVERITIES.index(severity) if severity in _SEVERITIES else len(_SEVERITIES)


def _recommendation(row: defender.RecommendationRow) -> dict[str, str]:
    return {
        "name": row.name,
        "severity": row.severity,
        "resource_id": row.resource_id,
        "resource": row.resource_id.rsplit("/", 1)[-1],
        "description": row.description,
        "remediation": row.remediation,
    }

"""Restores: check what a person asked for against Azure, show the plan, then request it.

Nothing here changes Azure: `restore_plan` reads, and `restore_request` creates the operation
that the worker runs (backups/restores.py). Any refusal raises RestoreRefusedError with a
message for the person and leaves everything as it was.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from backups.models import RestoreSnapshot
from backups.restore_keys import RestoreKeys, RestoreKeysError, restore_keys
from backups.restore_time import (
    RestoreTimeError,
    RestoreWindow,
    check_in_window,
    describe,
    parse_restore_time,
)
from backups.restores import CLEANUP, DISPOSABLE_ROLES, IN_PLACE, PARALLEL, RESTORE_KINDS
from backups.window import WindowPart, kept_databases, lineage_parts, part_for
from operations.kinds import kind_of
from operations.models import Operation
from operations.services import OperationRefusedError, operation_request
from portal.azure import monitor, sql
from portal.azure.errors import AzureError, AzureNotFoundError, AzureTransientError
from portal.resource_ids import parse
from portal.roles import REQUEST_RESTORE
from portal.times import portal_zone
from tenants.models import Tenant
from tenants.selectors import active_copy

log = logging.getLogger(__name__)

MODES = {"parallel": PARALLEL, "in_place": IN_PLACE}
SOURCES = ("point_in_time", "long_term_backup", "deleted_database")
CREATE_MODES = {
    "point_in_time": "PointInTimeRestore",
    "long_term_backup": "RestoreLongTermRetentionBackup",
    "deleted_database": "Restore",
}


class RestoreRefusedError(Exception):
    """`field` names the input at fault when one is (the JSON API reports it), else ""."""

    def __init__(
        self, message: str, readings: tuple[datetime, ...] = (), *, field: str = ""
    ) -> None:
        super().__init__(message)
        self.message = message
        self.readings = readings
        self.field = field


class RestoreConflictError(RestoreRefusedError):
    """Refused because of what is going on, not what was asked: another operation holds the
    tenant (or a lock the restore needs). Asking again later can succeed."""


@dataclass(frozen=True)
class RestoreRequest:
    """What a person asked for, as typed (kept to re-check at confirmation)."""

    mode: str
    source: str = "point_in_time"
    when: str = ""
    in_utc: bool = False
    long_term_backup_id: str = ""
    dropped_database_id: str = ""


@dataclass(frozen=True)
class RestorePlan:
    tenant: Tenant
    request: RestoreRequest
    kind: str
    parameters: dict[str, Any]
    checks: list[tuple[str, str]] = field(default_factory=list)  # (what, finding)
    steps: list[str] = field(default_factory=list)
    needs_approval: bool = False


def _geo_partner(tenant: Tenant) -> str | None:
    """The paired-region server a home database may be replicated to; none once failed over
    (the copy in use is then in the paired region itself)."""
    return (tenant.geo_sql_server_id or None) if active_copy(tenant).at_home else None


def _live_database(tenant: Tenant) -> sql.DatabaseInfo:
    try:
        return sql.database_get(active_copy(tenant).database_id)
    except AzureNotFoundError as exc:
        raise RestoreRefusedError(
            f"The tenant's database {tenant.database_name} was not found in Azure."
        ) from exc
    except AzureError as exc:
        raise RestoreRefusedError(
            f"Azure could not be asked about {tenant.database_name}: {exc}"
        ) from exc


def restore_window(
    tenant: Tenant, *, now: datetime | None = None, live: sql.DatabaseInfo | None = None
) -> RestoreWindow:
    """The tenant's point-in-time window across its lineage (read from Azure)."""
    return lineage_window(tenant, now=now, live=live)[0]


def lineage_window(
    tenant: Tenant, *, now: datetime | None = None, live: sql.DatabaseInfo | None = None
) -> tuple[RestoreWindow, list[WindowPart]]:
    """The whole window (oldest kept database's earliest point → newest point) and its parts."""
    now = now or timezone.now()
    database = live or _live_database(tenant)
    latest = now - timedelta(minutes=settings.RESTORE_LATEST_LAG_MINUTES)
    kept = kept_databases(
        tenant.database_name, sql.databases_list(active_copy(tenant).sql_server_id)
    )
    parts = lineage_parts(live=database, kept=kept, latest=latest)
    if not parts:
        raise RestoreRefusedError(
            f"{tenant.database_name} has no backups yet, so there is nothing to restore to."
        )
    return RestoreWindow(earliest=parts[0].earliest, latest=latest, checked_at=now), parts


def describe_parts(parts: list[WindowPart], zone: ZoneInfo) -> str:
    return "; ".join(
        f"{describe(p.earliest, zone)} to {describe(p.latest, zone)} from {p.database_name}"
        for p in parts
    )


def _lineage_ltr_backups(
    live: sql.DatabaseInfo, kept: list[sql.DatabaseInfo]
) -> list[sql.LtrBackup]:
    """LTR backups are listed by database name: those of the kept pre-restore databases (taken
    while they were live, under the tenant's name, or since under their own) count too."""
    found = {
        b.id.lower(): b
        for database in [*kept, live]
        for b in sql.long_term_retention_backups(database.id)
    }
    return sorted(found.values(), key=lambda b: b.backup_time)


def _stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")


def _azure_failures_refuse[**P, R](plan: Callable[P, R]) -> Callable[P, R]:
    """Any Azure failure while planning is a refusal that says what happened, never a 500.
    On a page the SDK works to a budget of a few seconds (portal/azure/web_profile.py), so a
    slow or throttled Azure ends here quickly."""

    @wraps(plan)
    def planned(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return plan(*args, **kwargs)
        except AzureTransientError as exc:
            raise RestoreRefusedError(
                f"Azure is busy or slow to answer right now ({exc}). Nothing was queued; "
                "try again in a minute."
            ) from exc
        except AzureError as exc:
            raise RestoreRefusedError(f"Azure refused a read the plan needs: {exc}") from exc

    return planned


@_azure_failures_refuse
def restore_plan(
    *, tenant: Tenant, user: User, request: RestoreRequest, now: datetime | None = None
) -> RestorePlan:
    """Validate a restore request against Azure and describe what will happen."""
    if not user.has_perm(REQUEST_RESTORE):
        raise RestoreRefusedError("You do not have permission to request restores.")
    if request.mode not in MODES:
        raise RestoreRefusedError("Choose a restore mode: in parallel or in place.", field="mode")
    if request.source not in SOURCES:
        raise RestoreRefusedError("Choose what to restore from.", field="source")
    now = now or timezone.now()
    zone = portal_zone()
    active = Operation.objects.filter(tenant=tenant, state__in=Operation.ACTIVE_STATES).first()
    if active is not None:
        raise RestoreConflictError(
            f"{tenant.display_name} already has an operation in progress (#{active.pk}, "
            f"{active.get_state_display().lower()}); wait for it or cancel it first."
        )
    live = _live_database(tenant)

    kind = MODES[request.mode]
    checks: list[tuple[str, str]] = []
    parameters: dict[str, Any] = {
        "mode": request.mode,
        "source": request.source,
        "create_mode": CREATE_MODES[request.source],
        "database_id": live.id,
        "server_id": active_copy(tenant).sql_server_id,
        "elastic_pool_id": live.elastic_pool_id or active_copy(tenant).elastic_pool_id,
        "subscription_id": tenant.subscription_id,
        "location": live.location,
        "site_id": active_copy(tenant).site_id,
        "geo_server_id": _geo_partner(tenant),
        "point_in_time": None,
        "source_database_id": None,
        "long_term_retention_backup_id": None,
        "restorable_dropped_database_id": None,
    }
    moment: datetime | None = None
    if request.source == "point_in_time":
        try:
            moment = parse_restore_time(request.when, zone=zone, in_utc=request.in_utc)
            window, parts = lineage_window(tenant, now=now, live=live)
            check_in_window(moment, window, now=now, zone=zone)
            # Before the live database's own window, the database that was live then (kept
            # from an earlier in-place restore) is the source.
            part = part_for(parts, moment)
            if part is None:
                raise RestoreRefusedError(
                    f"No database of {tenant.display_name}'s lineage has backups for "
                    f"{describe(moment, zone)}. Restorable: {describe_parts(parts, zone)}.",
                    field="when",
                )
            source_id, source_name = part.database_id, part.database_name
        except RestoreTimeError as exc:
            raise RestoreRefusedError(exc.message, exc.readings, field="when") from exc
        parameters.update(point_in_time=moment.isoformat(), source_database_id=source_id)
        checks.append(("Source", f"{source_name} as it was at {describe(moment, zone)}"))
        checks.append(("Restore window", describe_parts(parts, zone)))
    elif request.source == "long_term_backup":
        kept = kept_databases(
            tenant.database_name, sql.databases_list(active_copy(tenant).sql_server_id)
        )
        backups = {b.id.lower(): b for b in _lineage_ltr_backups(live, kept)}
        backup = backups.get(request.long_term_backup_id.lower())
        if backup is None:
            raise RestoreRefusedError(
                "Choose one of the tenant's long-term backups.", field="long_term_backup_id"
            )
        moment = backup.backup_time
        parameters.update(long_term_retention_backup_id=backup.id)
        checks.append(("Source", f"long-term backup of {describe(backup.backup_time, zone)}"))
    else:
        dropped = {
            d.id.lower(): d
            for d in sql.restorable_dropped_databases(active_copy(tenant).sql_server_id)
        }
        chosen = dropped.get(request.dropped_database_id.lower())
        if chosen is None:
            raise RestoreRefusedError(
                "Choose one of the server's deleted databases that can be restored.",
                field="dropped_database_id",
            )
        moment = chosen.deletion_date
        parameters.update(restorable_dropped_database_id=chosen.id)
        checks.append(
            (
                "Source",
                f"deleted database {chosen.database_name} as it was when deleted, {describe(chosen.deletion_date, zone)}",
            )
        )

    stamp = _stamp(now)
    target_name = f"{tenant.database_name}-restore-{stamp}"
    parameters.update(
        target_name=target_name,
        target_id=f"{active_copy(tenant).sql_server_id}/databases/{target_name}",
    )
    if request.mode == "parallel":
        expires = now + timedelta(days=settings.RESTORE_COPY_RETENTION_DAYS)
        parameters["copy_expires_at"] = expires.isoformat()
        checks.append(
            (
                "Target",
                f"new database {target_name} beside the live one, kept until {describe(expires, zone)}",
            )
        )
    else:
        pre_name = f"{tenant.database_name}-pre-restore-{stamp}"
        keep = now + timedelta(days=settings.RESTORE_PRE_RESTORE_RETENTION_DAYS)
        parameters.update(
            pre_restore_name=pre_name,
            pre_restore_id=f"{active_copy(tenant).sql_server_id}/databases/{pre_name}",
            pre_restore_expires_at=keep.isoformat(),
        )
        checks.append(
            ("Target", f"restored into {target_name}, then swapped in as {tenant.database_name}")
        )
        checks.append(
            ("Current database", f"renamed to {pre_name} and kept until {describe(keep, zone)}")
        )
        partner = _geo_partner(tenant)
        partners = sql.geo_replication_partners(
            live.id, partner_server_ids=[partner] if partner else None
        )
        if partners:
            raise RestoreRefusedError(
                f"{live.name} is geo-replicated, which blocks an in-place swap. Restore in parallel, "
                "or remove the geo-replica first."
            )
        checks.append(("Geo-replication", "none: the swap is possible"))

    checks.append(("Elastic pool", _pool_headroom(parameters["elastic_pool_id"], live)))
    checks.append(("Restore queue", _queue_finding(parameters)))
    keys = _restore_keys(tenant, live, request, moment, parameters)
    parameters.update(
        identity_ids=list(keys.identity_ids),
        key_uris=list(keys.key_uris),
        encryption_protector=keys.encryption_protector,
    )
    checks.append(("TDE key", keys.finding))

    operation_kind = kind_of(kind)
    probe = Operation(tenant=tenant, kind=kind, parameters=parameters)
    return RestorePlan(
        tenant=tenant,
        request=request,
        kind=kind,
        parameters=parameters,
        checks=checks,
        steps=[step.label for step in operation_kind.plan(probe)],
        needs_approval=operation_kind.needs_approval(),
    )


def _pool_headroom(pool_id: str | None, live: sql.DatabaseInfo) -> str:
    """Room in the pool for the copy: the pool's size limit less the space its databases have
    allocated (Azure Monitor), against what the source database has allocated."""
    if not pool_id:
        return "the copy is not placed in a pool"
    pool = sql.elastic_pool_get(pool_id)
    allocated = monitor.metric_latest(pool_id, "allocated_data_storage")
    needed = monitor.metric_latest(live.id, "allocated_data_storage")
    if pool.max_size_bytes is None or allocated is None or needed is None:
        return f"{pool.name}: storage figures are not available from Azure Monitor; check the pool by hand"
    free = pool.max_size_bytes - allocated
    if needed > free:
        raise RestoreRefusedError(
            f"Pool {pool.name} lacks room for a copy of {live.name}: {_gib(free)} free of "
            f"{_gib(pool.max_size_bytes)}, the copy needs about {_gib(needed)}. "
            "Ask an admin to scale the pool first."
        )
    return f"{pool.name}: {_gib(free)} free of {_gib(pool.max_size_bytes)}; the copy needs about {_gib(needed)}"


def _queue_finding(parameters: dict[str, Any]) -> str:
    """Azure processes a few restores at once per pool (single databases: per subscription)
    and queues the rest rather than refusing them; say how long the line is."""
    pool = parameters["elastic_pool_id"]
    ahead = Operation.objects.filter(
        kind__in=RESTORE_KINDS, state__in=(Operation.State.QUEUED, Operation.State.RUNNING)
    )
    if pool:
        ahead, limit, scope = (
            ahead.filter(parameters__elastic_pool_id=pool),
            settings.RESTORE_MAX_PER_POOL,
            "in the pool",
        )
    else:
        ahead, limit, scope = (
            ahead.filter(parameters__subscription_id=parameters["subscription_id"]),
            settings.RESTORE_MAX_PER_SUBSCRIPTION,
            "in the subscription",
        )
    count = ahead.count()
    if count < limit:
        return f"{count} other restore(s) under way {scope}; Azure processes {limit} at once, so this one starts at once"
    return (
        f"Azure will queue this restore behind {count - limit + 1} other(s) {scope} "
        f"({limit} are processed at once); it starts when one of them finishes"
    )


def _gib(size: float) -> str:
    return f"{size / 2**30:,.1f} GiB"


def _restore_keys(
    tenant: Tenant,
    live: sql.DatabaseInfo,
    request: RestoreRequest,
    moment: datetime | None,
    parameters: dict[str, Any],
) -> RestoreKeys:
    try:
        return restore_keys(
            key_vault_key_id=tenant.key_vault_key_id,
            live=live,
            source=request.source,
            moment=moment,
            source_database_id=parameters["source_database_id"],
            dropped_database_id=parameters["restorable_dropped_database_id"],
        )
    except RestoreKeysError as exc:
        raise RestoreRefusedError(exc.message) from exc


def restore_request(
    *,
    tenant: Tenant,
    user: User,
    request: RestoreRequest,
    reason: str,
    ticket: str,
    confirm_slug: str,
) -> Operation:
    """Re-check the plan (time has passed since it was shown) and create the operation."""
    if confirm_slug.strip() != tenant.slug:
        raise RestoreRefusedError(f"Type the tenant's slug “{tenant.slug}” to confirm.")
    plan = restore_plan(tenant=tenant, user=user, request=request)
    try:
        return operation_request(
            kind=plan.kind,
            tenant=tenant,
            requested_by=user,
            reason=reason,
            ticket=ticket,
            parameters=plan.parameters,
        )
    except OperationRefusedError as exc:
        raise RestoreConflictError(str(exc)) from exc


def restore_snapshot_request(*, tenant: Tenant) -> RestoreSnapshot:
    """Ask the worker for a fresh snapshot (pages never call Azure themselves)."""
    from backups.tasks import refresh_restore_snapshot

    with transaction.atomic():
        snapshot, _ = RestoreSnapshot.objects.get_or_create(tenant=tenant)
        snapshot.requested_at = timezone.now()
        snapshot.save(update_fields=["requested_at"])
        transaction.on_commit(lambda: _refresh_or_log(refresh_restore_snapshot, tenant.pk))
    return snapshot


def _refresh_or_log(task: Any, tenant_id: int) -> None:
    # The page keeps saying "collecting…"; a broker outage must not turn it into an error page.
    try:
        task.delay(tenant_id)
    except Exception:
        log.exception("could not enqueue the restore snapshot refresh of tenant %s", tenant_id)


def restore_snapshot_refresh(*, tenant: Tenant) -> RestoreSnapshot:
    """Read the tenant's restore window, long-term backups and deleted databases from Azure."""
    snapshot, _ = RestoreSnapshot.objects.get_or_create(tenant=tenant)
    now = timezone.now()
    try:
        live = sql.database_get(active_copy(tenant).database_id)
        kept = kept_databases(
            tenant.database_name, sql.databases_list(active_copy(tenant).sql_server_id)
        )
        latest = now - timedelta(minutes=settings.RESTORE_LATEST_LAG_MINUTES)
        parts = lineage_parts(live=live, kept=kept, latest=latest)
        backups = _lineage_ltr_backups(live, kept)
        dropped = [
            d
            for d in sql.restorable_dropped_databases(active_copy(tenant).sql_server_id)
            if d.database_name.lower().startswith(tenant.database_name.lower())
        ]
    except AzureTransientError:
        raise  # the task retries with backoff
    except AzureError as exc:
        snapshot.error = str(exc)
        snapshot.collected_at = now
        snapshot.save(update_fields=["error", "collected_at"])
        return snapshot
    snapshot.earliest_restore_at = parts[0].earliest if parts else None
    snapshot.window_parts = [p.as_json() for p in parts]
    snapshot.database_status = live.status
    snapshot.long_term_backups = [
        {
            "id": b.id,
            "backup_time": b.backup_time.isoformat(),
            "expires_at": b.expiration_time.isoformat() if b.expiration_time else None,
            "database_name": b.database_name,
        }
        for b in reversed(backups)
    ]
    snapshot.dropped_databases = [
        {
            "id": d.id,
            "name": d.database_name,
            "deleted_at": d.deletion_date.isoformat(),
            "earliest_restore_at": d.earliest_restore_date.isoformat()
            if d.earliest_restore_date
            else None,
        }
        for d in dropped
    ]
    snapshot.error = ""
    snapshot.collected_at = now
    snapshot.save()
    return snapshot


@dataclass(frozen=True)
class ExpiredCopy:
    tenant: Tenant
    database_id: str
    database_name: str
    role: str
    keep_until: datetime


def expired_restore_copies(*, now: datetime | None = None) -> list[ExpiredCopy]:
    """Restore copies and pre-restore databases whose keep-until date has passed (one list
    call per SQL server, not per tenant)."""
    now = now or timezone.now()
    tenants = {t.slug: t for t in Tenant.objects.all()}
    found: list[ExpiredCopy] = []
    # Paired servers too: a DR drill's database lives there.
    servers = {t.sql_server_id for t in tenants.values()}
    servers |= {t.geo_sql_server_id for t in tenants.values() if t.geo_sql_server_id}
    for server_id in servers:
        for database in sql.databases_list(server_id):
            tags = database.tags
            tenant = tenants.get(tags.get("fleetwise-tenant", ""))
            keep_until = tags.get("fleetwise-keep-until")
            if (
                tenant is None
                or not keep_until
                or tags.get("fleetwise-role") not in DISPOSABLE_ROLES
            ):
                continue
            expires = datetime.fromisoformat(keep_until)
            if expires <= now and database.id.lower() != tenant.database_id.lower():
                found.append(
                    ExpiredCopy(tenant, database.id, database.name, tags["fleetwise-role"], expires)
                )
    return sorted(found, key=lambda c: (c.tenant.slug, c.database_name))


def restore_cleanup_request(*, copy: ExpiredCopy, user: User, reason: str) -> Operation:
    """Ask for an expired copy to be deleted; a second admin approves, the worker deletes it."""
    try:
        return operation_request(
            kind=CLEANUP,
            tenant=copy.tenant,
            requested_by=user,
            reason=reason,
            parameters={
                "server_id": str(parse(copy.database_id).parent),
                "database_name": copy.database_name,
                "database_id": copy.database_id,
                "keep_until": copy.keep_until.isoformat(),
            },
        )
    except OperationRefusedError as exc:
        raise RestoreConflictError(str(exc)) from exc

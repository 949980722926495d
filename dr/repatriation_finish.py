"""After the tenant is home (steps 10–12 of docs/dr.md, "Repatriation"): the downtime recorded,
the standby put back as it was before the failover, and the deletion of the copies left behind
requested — each approved by a second admin and checked, when it runs, against the home copy's
health (backups/superseded.py)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from backups.restores import CLEANUP
from dr import steps
from dr.models import DrRepatriation
from dr.repatriation import RepatriationParameters
from dr.repatriation_state import CLEANUPS, SET_ASIDE, SWITCH_STARTED_AT, parameters
from operations.context import StepContext, StepFailedError
from operations.kinds import Subject
from operations.models import Operation
from operations.services import OperationRefusedError, operation_create
from portal.audit import audit_record
from portal.azure import sites, sql, web
from portal.azure.errors import AzureNotFoundError
from portal.resource_ids import name_of

# -- 10. record ------------------------------------------------------------------------------


def _moment(context: StepContext, key: str) -> datetime:
    text = context.get(key)
    return datetime.fromisoformat(text) if text else timezone.now()


def record(context: StepContext) -> str:
    """The repatriation with its downtime: first seen healthy at home − the standby's stop."""
    p = parameters(context)
    started = _moment(context, SWITCH_STARTED_AT)
    healthy = _moment(context, steps.HEALTHY_AT)
    downtime = (healthy - started).total_seconds()
    with transaction.atomic():
        DrRepatriation.objects.update_or_create(
            operation=context.operation,
            defaults={
                "tenant": context.tenant,
                "home_database_id": p.home_database_id,
                "away_database_id": p.away_database_id,
                "set_aside_name": p.aside_name if context.get(SET_ASIDE) == "renamed" else "",
                "switch_started_at": started,
                "healthy_at": healthy,
                "downtime_seconds": downtime,
            },
        )
        audit_record(
            action="dr.repatriated",
            actor_name="worker",
            tenant=p.slug,
            details={
                "operation": context.operation.pk,
                "home": p.home_database_id,
                "away": p.away_database_id,
                "downtime_seconds": round(downtime, 1),
            },
        )
    context.outcome_if_failed(
        f"The tenant runs at home on {p.database_name}; the standby app "
        f"{name_of(p.away_site_id)} is stopped. The Southeast copy was not yet put up for "
        "deletion."
    )
    return f"Home again after {downtime:.0f} s of downtime."


# -- 11. the standby back as it was ------------------------------------------------------------


def standby_back(context: StepContext) -> str:
    """Stopped, with the connection string it had before the failover (no secret: the
    failover refused a standby holding one)."""
    p = parameters(context)
    web.site_stop(p.away_site_id)
    before = (p.standby_before or {}).get("connection")
    if p.standby_before is None:
        return f"{name_of(p.away_site_id)} stopped; its settings before failover are unknown."
    strings = sites.connection_strings_get(p.away_site_id)
    if before is None:
        strings.pop(steps.CONNECTION_NAME, None)
    else:
        strings[steps.CONNECTION_NAME] = sites.ConnectionString(**before)
    sites.connection_strings_set(p.away_site_id, strings)
    return f"{name_of(p.away_site_id)} stopped with its pre-failover connection string."


# -- 12. request the deletions -----------------------------------------------------------------


def _cleanup(context: StepContext, database_id: str, what: str) -> int:
    operation = context.operation
    name = name_of(database_id)
    try:
        cleanup = operation_create(
            kind=CLEANUP,
            subject=Subject(
                Operation.Subject.SQL_SERVER, database_id, f"{name} ({what}, #{operation.pk})"
            ),
            tenant=context.tenant,
            requested_by=operation.requested_by,
            reason=f"Remove {what} after repatriation #{operation.pk}",
            ticket=operation.ticket,
            parameters={
                "server_id": str(database_id.rsplit("/databases/", 1)[0]),
                "database_name": name,
                "database_id": database_id,
                "keep_until": "",
            },
            needs_approval=True,
        )
    except OperationRefusedError as exc:
        raise StepFailedError(str(exc), code="DeletionRefused") from exc
    return int(cleanup.pk)


def _made_by_failover(p: RepatriationParameters) -> bool:
    """The Southeast copy is the failover's geo-restore (tagged so), not the tenant's standing
    geo-secondary that a failover through its link promoted: that one is kept, replicating from
    home again as before the outage."""
    try:
        return sql.database_get(p.away_database_id).tags.get("fleetwise-role") == "failover"
    except AzureNotFoundError:
        return False


def request_deletions(context: StepContext) -> str:
    """Ask for the Southeast copy and the set-aside stale database to be deleted: a second
    admin approves each, and each deletion checks when it runs that the home copy is healthy."""
    p = parameters(context)
    wanted: dict[str, tuple[str, str]] = {}
    if _made_by_failover(p):
        wanted["away"] = (p.away_database_id, "the Australia Southeast copy")
    if context.get(SET_ASIDE) == "renamed":
        wanted["aside"] = (p.aside_id, "the stale pre-failover database")
    with transaction.atomic():
        done = dict(context.get(CLEANUPS) or {})
        for key, (database_id, what) in wanted.items():
            if key not in done:
                done[key] = _cleanup(context, database_id, what)
        context.save(**{CLEANUPS: done})
        DrRepatriation.objects.filter(operation=context.operation).update(
            away_cleanup_operation_id=done.get("away"),
            aside_cleanup_operation_id=done.get("aside"),
        )
    kept = (
        ""
        if "away" in done
        else f" {name_of(p.away_database_id)} is kept: it is the tenant's standing geo-secondary, "
        "replicating from home again."
    )
    if not done:
        return f"Nothing to delete.{kept}"
    listed = ", ".join(f"#{pk}" for pk in done.values())
    return f"Deletion requested ({listed}); a second admin approves.{kept}"

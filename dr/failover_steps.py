"""One tenant's failover to Australia Southeast, step by step.

Every step is idempotent: the target names are fixed by the parameters (the tenant's database
name on the paired server, its standby site), so a run resumed after a worker was killed finds
the restore it already began (by name and by the operation tag on it) and never begins a
second one. The home region is presumed down: nothing here reads or changes the primary.
"""

from __future__ import annotations

from django.utils import timezone

from dr.failover import TenantFailoverParameters
from operations.context import StepContext, StepFailedError
from operations.kinds import Step, StepResult, Wait
from operations.models import Operation
from portal.azure import sql, web
from portal.azure.errors import AzureNotFoundError
from portal.resource_ids import name_of
from tenants.models import ActiveCopy
from tenants.services import tenant_active_copy_set

# How long the standby app and the restored database get to report healthy once started.
VERIFY_SECONDS = 120.0
ROLE = "failover"


def _p(context: StepContext) -> TenantFailoverParameters:
    return context.parameters(TenantFailoverParameters)


def look_again_seconds() -> float:
    from backups.restores import look_again_seconds as restore_look_again

    return restore_look_again()


def check_targets(context: StepContext) -> str:
    """The tenant has somewhere to land: a planned paired pool and a standby site."""
    p = _p(context)
    missing = []
    if not p.target_pool_id:
        missing.append("no pool on the paired server has room planned for its database")
    if not p.standby_site_id:
        missing.append("it has no standby site in Australia Southeast")
    if missing:
        gaps = f" DR readiness said: {' '.join(p.gaps)}" if p.gaps else ""
        raise StepFailedError(
            f"Cannot fail over: {'; '.join(missing)}.{gaps}", code="NotReadyForFailover"
        )
    return (
        f"Restore into {name_of(p.target_pool_id)} on {name_of(p.target_server_id)}; "
        f"standby app {name_of(p.standby_site_id)}."
    )


def _tags(context: StepContext) -> dict[str, str]:
    return {
        "fleetwise-tenant": _p(context).slug,
        "fleetwise-operation": str(context.operation.pk),
        "fleetwise-role": ROLE,
    }


def _existing(context: StepContext) -> sql.DatabaseInfo | None:
    """The target if it exists; a database of that name made by anything else is refused."""
    p = _p(context)
    found = sql.database_find(p.target_server_id, p.database_name)
    if found is not None and found.tags.get("fleetwise-operation") != str(context.operation.pk):
        raise StepFailedError(
            f"{p.database_name} already exists on {name_of(p.target_server_id)} and was not "
            "made by this failover; it was left alone. Remove or rename it, then fail this "
            "tenant over again.",
            code="TargetExists",
        )
    return found


def geo_restore(context: StepContext) -> StepResult:
    """Begin the geo-restore once (never twice: the target is looked for first), then look
    once per visit; when it is done, give the restore slot to the next tenant."""
    p = _p(context)
    if not context.get("restore_begun"):
        if _existing(context) is None:
            context.outcome_if_failed(
                "The tenant was not failed over; Azure removes a failed restore's database."
            )
            token = sql.database_restore_begin(
                target_id=p.target_database_id,
                location=p.target_region,
                create_mode="Recovery",
                recoverable_database_id=p.recoverable_database_id,
                elastic_pool_id=p.target_pool_id,
                tags=_tags(context),
            )
            context.save(restore_begun=True, restore_token=token)
        else:
            # Begun by an earlier run that died before recording it.
            context.save(restore_begun=True, restore_token=None)
    token = context.get("restore_token")
    if token:
        outcome = sql.database_restore_wait(
            target_id=p.target_database_id, continuation_token=token, timeout_seconds=0
        )
        if outcome.done and not outcome.succeeded:
            raise StepFailedError(outcome.error_message, code=outcome.error_code)
        done = outcome.done
    else:
        copy = _existing(context)
        if copy is None:
            raise StepFailedError(
                f"The restore into {p.database_name} disappeared.", code="RestoreVanished"
            )
        done = copy.status == "Online"
    if not done:
        return Wait(look_again_seconds(), f"Geo-restoring {p.database_name}…")
    context.limits_release()
    context.outcome_if_failed(
        f"{p.database_name} was restored on {name_of(p.target_server_id)} but the tenant does "
        "not run there yet: fail it over again once the reason is fixed."
    )
    return f"{p.database_name} restored from its geo-replicated backup."


def verify_database(context: StepContext) -> str:
    p = _p(context)
    database = sql.database_get(p.target_database_id)
    if database.status != "Online":
        raise StepFailedError(
            f"{database.name} reports {database.status}, not Online.", code="DatabaseNotOnline"
        )
    restored_to = (
        f" (data as of {database.restore_point_in_time:%Y-%m-%d %H:%M} UTC)"
        if database.restore_point_in_time
        else ""
    )
    return f"{database.name} is online in {name_of(database.elastic_pool_id)}{restored_to}."


def start_standby(context: StepContext) -> str:
    web.site_start(_p(context).standby_site_id)
    return f"{name_of(_p(context).standby_site_id)} started."


def verify_standby(context: StepContext) -> StepResult:
    """The standby app runs and its database is online, within a grace period."""
    p = _p(context)
    site = web.site_get(p.standby_site_id)
    try:
        status = sql.database_get(p.target_database_id).status
    except AzureNotFoundError:
        status = "missing"
    if site.state == "Running" and status == "Online":
        return "App running and database online in Australia Southeast."
    started = context.step.started_at or timezone.now()
    if (timezone.now() - started).total_seconds() > VERIFY_SECONDS:
        raise StepFailedError(
            f"The standby app reports {site.state} and the database {status}.",
            code="StandbyUnhealthy",
        )
    return Wait(min(look_again_seconds(), 5.0), "Waiting for the standby app to report healthy…")


def record_active(context: StepContext) -> str:
    p = _p(context)
    tenant_active_copy_set(
        tenant=context.tenant,
        copy=ActiveCopy(
            region=p.target_region,
            sql_server_id=p.target_server_id,
            database_id=p.target_database_id,
            elastic_pool_id=p.target_pool_id,
            site_id=p.standby_site_id,
            at_home=False,
        ),
        actor_name="worker",
        operation_id=context.operation.pk,
    )
    return f"The tenant now runs in Australia Southeast ({name_of(p.standby_site_id)})."


def failover_cancel(context: StepContext) -> str:
    """Cancelled while queued or restoring: a restore under way is left to finish (the
    database it makes is the tenant's newest reachable copy, not something to throw away)."""
    if context.get("restore_begun"):
        return (
            f"The geo-restore of {_p(context).database_name} was already under way and is "
            "left to finish; the tenant was not switched to it."
        )
    return "The tenant was not failed over; nothing was created."


def child_plan(operation: Operation) -> list[Step]:
    return [
        Step("check", "Check the tenant has a paired pool and a standby site", check_targets),
        Step("restore", "Geo-restore the database into the paired pool", geo_restore),
        Step("verify_database", "Check the restored database is online", verify_database),
        Step("start", "Start the standby app", start_standby, cancellable=False),
        Step("verify", "Check the standby app and database report healthy", verify_standby),
        Step("record", "Record that the tenant runs in Australia Southeast", record_active),
    ]

"""One tenant's failover to Australia Southeast, step by step.

Every step is idempotent: the target names are fixed by the parameters (the tenant's database
name on the paired server, its standby site), so a run resumed after a worker was killed finds
the restore it already began (by name and by the operation tag on it) and never begins a
second one. The home region is presumed down: nothing here reads or changes the primary.

A tenant whose database has a geo-secondary on the paired server (readiness found it) is not
restored: its replication link is failed over with data loss allowed (forced: the primary is
unreachable), which makes the secondary, seconds behind, the primary; then the same app steps.
"""

from __future__ import annotations

from dr import steps
from dr.failover import TenantFailoverParameters
from dr.standby import standby_ensure
from operations.context import StepContext, StepFailedError
from operations.kinds import Step, StepResult, Wait
from operations.models import Operation
from portal.azure import sql
from portal.resource_ids import name_of
from tenants.models import ActiveCopy
from tenants.services import tenant_active_copy_set

ROLE = "failover"


def _p(context: StepContext) -> TenantFailoverParameters:
    return context.parameters(TenantFailoverParameters)


def check_targets(context: StepContext) -> str:
    """The tenant has somewhere to land: a planned paired pool (or its geo-secondary) and a
    standby site."""
    p = _p(context)
    missing = []
    if not p.target_pool_id and not p.by_link:
        missing.append("no pool on the paired server has room planned for its database")
    if not p.standby_site_id:
        missing.append(
            "it has no standby site in Australia Southeast and no recorded configuration of its "
            "primary site to create one from"
        )
    if missing:
        gaps = f" DR readiness said: {' '.join(p.gaps)}" if p.gaps else ""
        raise StepFailedError(
            f"Cannot fail over: {'; '.join(missing)}.{gaps}", code="NotReadyForFailover"
        )
    made = " (to be created from the primary's recorded configuration)" if p.standby_recipe else ""
    if p.by_link:
        return (
            f"Fail over the replication link to the geo-secondary {p.database_name} on "
            f"{name_of(p.target_server_id)}; standby app {name_of(p.standby_site_id)}{made}."
        )
    return (
        f"Restore into {name_of(p.target_pool_id)} on {name_of(p.target_server_id)}; "
        f"standby app {name_of(p.standby_site_id)}{made}."
    )


def _tags(context: StepContext) -> dict[str, str]:
    return {
        "fleetwise-tenant": _p(context).slug,
        "fleetwise-operation": str(context.operation.pk),
        "fleetwise-role": ROLE,
    }


def _target(context: StepContext) -> steps.StandbyTarget:
    p = _p(context)
    return steps.StandbyTarget(
        primary_server_id=p.source_server_id,
        database_name=p.database_name,
        paired_server_id=p.target_server_id,
        target_name=p.database_name,
        location=p.target_region,
        elastic_pool_id=p.target_pool_id,
        standby_site_id=p.standby_site_id,
        # The primary region is down, so a database-level key is the one readiness recorded:
        # Key Vault still answers from the paired region, and the copy keeps the tenant's key.
        identity_ids=p.identity_ids,
        encryption_protector=p.encryption_protector,
    )


def _refuse_foreign_target(context: StepContext) -> None:
    """A database of the target's name made by anything but this failover is left alone."""
    if context.get(steps.RESTORE_BEGUN):
        return
    p = _p(context)
    found = sql.database_find(p.target_server_id, p.database_name)
    if found is not None and (found.secondary_type or "").lower() == "geo":
        # Readiness had not seen it when the failover was requested (it is the better copy).
        raise StepFailedError(
            f"{p.database_name} has a geo-replicated secondary on {name_of(p.target_server_id)}, "
            "which DR readiness had not seen when this failover was planned: refresh DR "
            "readiness and fail this tenant over again; it will fail over the replication link "
            "(seconds of data) instead of restoring an hour-old geo backup.",
            code="GeoSecondaryExists",
        )
    if found is not None and found.tags.get("fleetwise-operation") != str(context.operation.pk):
        raise StepFailedError(
            f"{p.database_name} already exists on {name_of(p.target_server_id)} and was not "
            "made by this failover; it was left alone. Remove or rename it, then fail this "
            "tenant over again.",
            code="TargetExists",
        )


def restore(context: StepContext) -> StepResult:
    """Geo-restore (begun once, looked at once per visit); when it is done, give the restore
    slot to the next tenant while this one sets up its app. A tenant with a geo-secondary
    fails its replication link over instead."""
    if _p(context).by_link:
        return link_failover(context)
    _refuse_foreign_target(context)
    context.outcome_if_failed(
        "The tenant was not failed over; Azure removes a failed restore's database."
    )
    result = steps.geo_restore(context, _target(context), tags=_tags(context))
    if isinstance(result, Wait):
        return result
    context.limits_release()
    context.outcome_if_failed(
        f"{_p(context).database_name} was restored on {name_of(_p(context).target_server_id)} "
        "but the tenant does not run there yet: fail it over again once the reason is fixed."
    )
    return result


def link_failover(context: StepContext) -> StepResult:
    """Forced failover of the tenant's replication link (begun once, looked at once per
    visit); the secondary becomes the primary."""
    p = _p(context)
    context.outcome_if_failed(
        f"The tenant was not failed over; its geo-secondary on {name_of(p.target_server_id)} "
        "is as it was."
    )
    result = steps.link_failover(context, p.target_database_id)
    if not isinstance(result, Wait):
        context.outcome_if_failed(
            f"{p.database_name} on {name_of(p.target_server_id)} is now the primary but the "
            "tenant does not run there yet: fail it over again once the reason is fixed."
        )
    return result


def standby(context: StepContext) -> StepResult:
    """Build the standby from the primary's recorded configuration when it has none."""
    return standby_ensure(context, _p(context).standby_recipe)


def configure(context: StepContext) -> str:
    return steps.configure_app(context, _target(context))


def start(context: StepContext) -> str:
    return steps.start_app(context, _target(context))


def verify(context: StepContext) -> StepResult:
    return steps.verify(context, _target(context))


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
    database it makes is the tenant's newest reachable copy, not something to throw away);
    so is a failover of the replication link (Azure cannot take one back)."""
    if context.get(steps.LINK_FAILOVER_BEGUN):
        return (
            f"The failover of {_p(context).database_name}'s replication link was already under "
            "way and is left to finish; the tenant was not switched to it."
        )
    if context.get(steps.RESTORE_BEGUN):
        return (
            f"The geo-restore of {_p(context).database_name} was already under way and is "
            "left to finish; the tenant was not switched to it."
        )
    return "The tenant was not failed over; nothing was created."


def child_plan(operation: Operation) -> list[Step]:
    if (operation.parameters or {}).get("geo_secondary_id"):
        bring_up = Step("restore", "Fail over the replication link to the geo-secondary", restore)
        check = Step(
            "check", "Check the tenant has a geo-secondary and a standby site", check_targets
        )
    else:
        bring_up = Step("restore", "Geo-restore the database into the paired pool", restore)
        check = Step(
            "check", "Check the tenant has a paired pool and a standby site", check_targets
        )
    return [
        check,
        bring_up,
        Step("standby", "Create the standby app if missing (stopped)", standby),
        Step("configure", "Point the standby app's connection at the database", configure),
        Step("start", "Start the standby app", start, cancellable=False),
        Step("verify", "Check the standby app and database report healthy", verify),
        Step("record", "Record that the tenant runs in Australia Southeast", record_active),
    ]

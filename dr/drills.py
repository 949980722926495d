"""DR drills: prove a tenant can be brought up in Australia Southeast, without touching
production, and measure it (docs/dr.md, "Drills").

A drill geo-restores the tenant's newest geo backup under a drill name onto the paired server,
points the stopped standby app at it, starts it, checks app and database, records the RTO
(request → healthy) and RPO (drill start − geo backup) in a `DrDrill` row, puts the standby back
as it was (stopped, its old connection string) and asks for the drill database's deletion
through the same approval-gated kind as expired restore copies (a second admin approves).
Several tenants are drilled as children of one parent (operations/fleet.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from backups.restores import CLEANUP, restores_in_pool
from dr import steps
from dr.models import DrDrill, DrReadiness
from dr.standby import standby_ensure
from operations.context import StepContext, StepFailedError
from operations.fleet import ChildRequest, children_supervise
from operations.kinds import Limit, OperationKind, Step, StepResult, Subject, register
from operations.models import Operation
from operations.services import (
    OperationRefusedError,
    operation_create,
    operation_request,
    tenant_subject,
)
from operations.tasks import enqueue_run
from portal.azure import sql, web
from portal.azure.errors import AzureError, AzureNotFoundError
from portal.resource_ids import name_of
from portal.roles import REQUEST_RESTORE
from tenants.models import Tenant

DRILL = "dr_drill"
DRILL_SET = "dr_drill_set"
ROLE = "dr-drill"
TEARDOWN = "teardown_operation_id"
UNTOUCHED = "Production was not touched."
# Drills of a set run at most this many at once (each also takes a restore slot in its pool).
MAX_RUNNING = 4


class DrillRefusedError(Exception):
    """The drill cannot be requested; the message says why and nothing was created."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class DrillSetParameters:
    """The tenants of a drill of several, each with its target chosen when requested."""

    drills: list[dict[str, Any]] = field(default_factory=list)


def _target(context: StepContext) -> steps.StandbyTarget:
    return context.parameters(steps.StandbyTarget)


def _tags(context: StepContext) -> dict[str, str]:
    return {
        "fleetwise-tenant": context.tenant.slug,
        "fleetwise-operation": str(context.operation.pk),
        "fleetwise-role": ROLE,
        # Disposable as soon as the drill is over: found by the expired-copies scan if the
        # drill's own deletion request was never approved.
        "fleetwise-keep-until": context.operation.created_at.isoformat(),
    }


# -- steps ----------------------------------------------------------------------------------------


def check_standby(context: StepContext) -> str:
    """The standby is there and stopped (a running standby serves a failover or another drill;
    a drill must not disturb it)."""
    target = _target(context)
    if context.get(steps.STANDBY_BEFORE) is not None:
        return "Checked before this run."
    try:
        site = web.site_get(target.standby_site_id)
    except AzureNotFoundError as exc:
        raise StepFailedError(
            f"The standby site {name_of(target.standby_site_id)} no longer exists.",
            code="NoStandby",
        ) from exc
    if site.is_running:
        raise StepFailedError(
            f"The standby site {site.name} is running (a failover or another drill uses it); "
            "the drill left it alone.",
            code="StandbyInUse",
        )
    return f"{site.name} is stopped and free for the drill."


def geo_restore(context: StepContext) -> StepResult:
    return steps.geo_restore(context, _target(context), tags=_tags(context))


def record(context: StepContext) -> str:
    """The drill's measurements: RTO from the request, RPO from the drill's start."""
    target = _target(context)
    operation = context.operation
    healthy = steps.healthy_at(context) or timezone.now()
    backup = steps.geo_backup_at(context)
    started = operation.started_at or operation.created_at
    drill, _ = DrDrill.objects.update_or_create(
        operation=operation,
        defaults={
            "tenant": context.tenant,
            "database_name": target.target_name,
            "database_id": target.target_id,
            "standby_site_id": target.standby_site_id,
            "requested_at": operation.created_at,
            "geo_backup_at": backup,
            "healthy_at": healthy,
            "rto_seconds": (healthy - operation.created_at).total_seconds(),
            "rpo_seconds": (started - backup).total_seconds() if backup else None,
        },
    )
    rpo = f"{drill.rpo_seconds / 60:.0f} min" if drill.rpo_seconds is not None else "unknown"
    return f"RTO {drill.rto_seconds:.0f} s, RPO {rpo}."


def standby_back(context: StepContext) -> str:
    target = _target(context)
    stopped = steps.restore_app_state(context, target)
    return f"{stopped} {steps.restore_app_settings(context, target)}"


def request_teardown(context: StepContext) -> str:
    """Ask for the drill database's deletion (a second admin approves, as for restore copies).
    The request's subject is the database itself, so the tenant stays free for what follows."""
    existing = context.get(TEARDOWN)
    target = _target(context)
    if existing is None:
        operation = context.operation
        with transaction.atomic():
            try:
                teardown = operation_create(
                    kind=CLEANUP,
                    subject=Subject(
                        Operation.Subject.SQL_SERVER,
                        target.target_id,
                        f"{target.target_name} (DR drill #{operation.pk})",
                    ),
                    tenant=context.tenant,
                    requested_by=operation.requested_by,
                    reason=f"Tear down DR drill #{operation.pk}",
                    ticket=operation.ticket,
                    parameters={
                        "server_id": target.paired_server_id,
                        "database_name": target.target_name,
                        "database_id": target.target_id,
                        "keep_until": operation.created_at.isoformat(),
                    },
                    needs_approval=True,
                )
            except OperationRefusedError as exc:
                raise StepFailedError(str(exc), code="TeardownRefused") from exc
            context.save(**{TEARDOWN: teardown.pk})
            DrDrill.objects.filter(operation=operation).update(teardown_operation=teardown)
        existing = teardown.pk
    return f"Deletion of {target.target_name} requested as #{existing}; a second admin approves."


def teardown_after_failure(context: StepContext) -> str:
    """Undo of the geo-restore: a drill that failed later still has its database deleted
    (through the same approval)."""
    if not context.get(steps.RESTORE_BEGUN):
        return "Nothing was restored."
    return request_teardown(context)


def _drill_plan(operation: Operation) -> list[Step]:
    target = steps.StandbyTarget(**operation.parameters)
    site = name_of(target.standby_site_id)
    return [
        Step(
            "standby",
            f"Create the standby {site} if missing (stopped)",
            lambda c: standby_ensure(c, _target(c).standby_recipe),
        ),
        Step("check", f"Check the standby {site} is stopped and free", check_standby),
        Step(
            "restore",
            f"Geo-restore into {target.target_name} on {name_of(target.paired_server_id)}",
            geo_restore,
            undo=teardown_after_failure,
        ),
        Step(
            "configure",
            f"Point {site} at {target.target_name}",
            lambda c: steps.configure_app(c, _target(c)),
            undo=lambda c: steps.restore_app_settings(c, _target(c)),
        ),
        Step(
            "start",
            f"Start {site}",
            lambda c: steps.start_app(c, _target(c)),
            undo=lambda c: steps.restore_app_state(c, _target(c)),
        ),
        Step(
            "verify",
            "Check the app answers and the database is online",
            lambda c: steps.verify(c, _target(c)),
        ),
        Step("record", "Record the RTO and RPO", record),
        Step("standby_back", f"Stop {site} and put its settings back", standby_back),
        Step("teardown", f"Request the deletion of {target.target_name}", request_teardown),
    ]


def drill_limits(target: steps.StandbyTarget) -> list[Limit]:
    """A drill's restore counts against the paired pool's and subscription's restore limits."""
    subscription = target.paired_server_id.split("/")[2].lower()
    return [
        restores_in_pool(target.elastic_pool_id),
        Limit(
            f"restores:subscription:{subscription}",
            settings.RESTORE_MAX_PER_SUBSCRIPTION,
            "restores in this subscription",
        ),
    ]


# -- a drill of several tenants ---------------------------------------------------------------


def _children(operation: Operation) -> list[ChildRequest]:
    values = DrillSetParameters(**operation.parameters)
    tenants = Tenant.objects.in_bulk([d["tenant"] for d in values.drills], field_name="slug")
    found = []
    for entry in values.drills:
        tenant = tenants[entry["tenant"]]
        target = {k: v for k, v in entry.items() if k != "tenant"}
        found.append(
            ChildRequest(DRILL, tenant_subject(tenant), steps.StandbyTarget(**target), tenant)
        )
    return found


def supervise(context: StepContext) -> StepResult:
    return children_supervise(
        context,
        children=_children(context.operation),
        max_running=MAX_RUNNING,
        look_again_seconds=min(steps.look_again_seconds(), 5.0),
    )


def register_kinds() -> None:
    register(
        OperationKind(
            name=DRILL,
            label="DR drill",
            permission=REQUEST_RESTORE,
            needs_approval=lambda: False,
            plan=_drill_plan,
            parameters=steps.StandbyTarget,
            limits=drill_limits,
            untouched_outcome=UNTOUCHED,
        )
    )
    register(
        OperationKind(
            name=DRILL_SET,
            label="DR drill of several tenants",
            permission=REQUEST_RESTORE,
            needs_approval=lambda: False,
            plan=lambda operation: [Step("drills", "Drill each tenant", supervise)],
            parameters=DrillSetParameters,
            untouched_outcome=UNTOUCHED,
            pausable=True,
        )
    )


# -- requesting -------------------------------------------------------------------------------


def drill_name(database_name: str, at: datetime) -> str:
    # To the second: a drill's copy stays until a second admin approves its deletion, so two
    # drills of one tenant within a minute would otherwise ask for the same name.
    return f"{database_name}-drill-{at.astimezone(UTC):%Y%m%d%H%M%S}"


def _target_for(tenant: Tenant, now: datetime) -> steps.StandbyTarget:
    readiness = DrReadiness.objects.filter(tenant=tenant).first()
    if readiness is None:
        raise DrillRefusedError(
            f"{tenant.display_name} has not been assessed for DR yet; run the readiness check."
        )
    if not readiness.ready:
        gaps = "; ".join(readiness.gaps) or "not ready"
        raise DrillRefusedError(f"{tenant.display_name} is not DR ready: {gaps}")
    if readiness.geo_secondary_id and readiness.geo_backup_at is None:
        raise DrillRefusedError(
            f"{tenant.display_name} is DR ready through its geo-secondary (a failover fails its "
            "replication link over), but a drill geo-restores a backup and its backups are "
            "not geo-redundant; a drill cannot run without failing production over."
        )
    if readiness.standby_state == "Running":
        raise DrillRefusedError(
            f"{tenant.display_name}'s standby site {readiness.standby_site_name} is running (a "
            "failover or another drill uses it); a drill would disturb it."
        )
    try:
        live = sql.database_get(tenant.database_id)
    except AzureError as exc:
        raise DrillRefusedError(
            f"{tenant.display_name}'s database could not be read ({exc}); a drill needs the "
            "primary region to answer."
        ) from exc
    return steps.standby_target(
        tenant=tenant,
        readiness=readiness,
        target_name=drill_name(live.name, now),
        live=live,
    )


def drill_request(
    *,
    tenants: list[Tenant],
    user: User,
    reason: str,
    ticket: str = "",
    enqueue: Any = enqueue_run,
) -> Operation:
    """Request a drill of one tenant, or of several as one parent; DrillRefusedError (nothing
    created) when a tenant is not DR ready, cannot be read, or the person may not."""
    if not tenants:
        raise DrillRefusedError("Choose at least one tenant to drill.")
    now = timezone.now()
    targets = [(tenant, _target_for(tenant, now)) for tenant in tenants]
    try:
        if len(targets) == 1:
            tenant, target = targets[0]
            return operation_request(
                kind=DRILL,
                tenant=tenant,
                requested_by=user,
                reason=reason,
                ticket=ticket,
                parameters=target,
                enqueue=enqueue,
            )
        return operation_request(
            kind=DRILL_SET,
            subject=Subject(
                Operation.Subject.FLEET, "dr-drill", f"DR drill of {len(targets)} tenants"
            ),
            requested_by=user,
            reason=reason,
            ticket=ticket,
            parameters=DrillSetParameters(
                drills=[{"tenant": t.slug, **asdict(target)} for t, target in targets]
            ),
            enqueue=enqueue,
        )
    except OperationRefusedError as exc:
        raise DrillRefusedError(str(exc)) from exc

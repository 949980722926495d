"""Repatriation: bringing a failed-over tenant home to Australia East once the region is back,
with the customer's downtime limited to a switch (docs/dr.md, "Repatriation").

The home database is rebuilt as a geo-secondary of the Australia Southeast copy the tenant runs
on; once it has caught up, the standby app is stopped, a planned failover (no data loss) makes
the home copy primary, the home app is pointed at it and started. The Southeast copy and the
stale pre-failover home database are then deleted only after a second admin approves, and only
while the home copy is healthy (backups/superseded.py). The steps are in
`dr/repatriation_steps.py`; this module holds the parameters, the kinds and the request.

One tenant is one `repatriate` operation (admins; subject: the tenant). Several — chosen, or
every tenant of a DR tier that runs away from home — are children of one `repatriate_set`,
a few at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from dr import steps
from operations.fleet import ChildRequest, children_supervise
from operations.kinds import OperationKind, Step, StepResult, Subject, register
from operations.models import Operation
from operations.services import OperationRefusedError, operation_request, tenant_subject
from operations.tasks import enqueue_run
from portal.azure import sql
from portal.azure.errors import AzureError, AzureNotFoundError
from portal.resource_ids import name_of, parse
from portal.roles import APPROVE_OPERATION
from tenants.models import Tenant

REPATRIATE = "repatriate"
REPATRIATE_SET = "repatriate_set"
TENANT_FAILOVER = "tenant_failover"
# Repatriations of a set run at most this many at once: each switch is a customer's downtime
# an admin may want to watch, and each seeding copies a whole database across regions.
MAX_RUNNING = 3


class RepatriationRefusedError(Exception):
    """The repatriation cannot be requested; the message says why and nothing was created."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RepatriationParameters:
    """One tenant's way home: where it runs now (away), where it goes back to (home), the name
    the stale home database is kept under, and what the standby looked like before failover."""

    slug: str
    database_name: str
    home_region: str
    home_server_id: str
    home_pool_id: str
    home_site_id: str
    away_database_id: str
    away_site_id: str
    aside_name: str
    # The tenant's own TDE key (database level) read from the stale home database, so the home
    # copy keeps it; empty when it uses its server's key.
    identity_ids: list[str] = field(default_factory=list)
    encryption_protector: str | None = None
    # The standby's connection string and state before the failover pointed it away (the
    # failover's checkpoint); None when no failover operation recorded it.
    standby_before: dict[str, Any] | None = None

    @property
    def home_database_id(self) -> str:
        return f"{self.home_server_id}/databases/{self.database_name}"

    @property
    def away_server_id(self) -> str:
        return str(parse(self.away_database_id).parent)

    @property
    def aside_id(self) -> str:
        return f"{self.home_server_id}/databases/{self.aside_name}"


@dataclass(frozen=True)
class RepatriationSetParameters:
    """The tenants of a repatriation of several, each with its parameters fixed when requested."""

    repatriations: list[dict[str, Any]] = field(default_factory=list)


def aside_name(database_name: str, at: datetime) -> str:
    return f"{database_name}-prefailover-{at.astimezone(UTC):%Y%m%d%H%M%S}"


def _standby_before(tenant: Tenant) -> dict[str, Any] | None:
    """What the last successful failover of the tenant found on its standby before using it."""
    checkpoint = (
        Operation.objects.filter(
            tenant=tenant, kind=TENANT_FAILOVER, state=Operation.State.SUCCEEDED
        )
        .order_by("-id")
        .values_list("checkpoint", flat=True)
        .first()
    )
    before = (checkpoint or {}).get(steps.STANDBY_BEFORE)
    return dict(before) if before else None


def _home_database(tenant: Tenant) -> sql.DatabaseInfo | None:
    """The stale home database (None when absent); refuses when the home region does not
    answer: nothing can be copied back to it yet."""
    try:
        return sql.database_find(tenant.sql_server_id, tenant.database_name)
    except AzureError as exc:
        raise RepatriationRefusedError(
            f"{tenant.display_name}'s home server {name_of(tenant.sql_server_id)} does not "
            f"answer ({exc}); repatriation waits until {tenant.region} is back."
        ) from exc


def _away_online(tenant: Tenant) -> None:
    away = tenant.active
    try:
        status = sql.database_get(away.database_id).status
    except AzureNotFoundError:
        status = "missing"
    except AzureError as exc:
        raise RepatriationRefusedError(
            f"{tenant.display_name}'s copy {away.database_name} on {away.server_name} could "
            f"not be read ({exc})."
        ) from exc
    if status != "Online":
        raise RepatriationRefusedError(
            f"{tenant.display_name}'s copy {away.database_name} on {away.server_name} is "
            f"{status}, not Online: it is the copy the home database would be built from."
        )


def repatriation_parameters(tenant: Tenant, now: datetime) -> RepatriationParameters:
    """The parameters for bringing `tenant` home, checked against the catalogue and Azure;
    RepatriationRefusedError says why not (nothing created)."""
    away = tenant.active
    if away.at_home:
        raise RepatriationRefusedError(
            f"{tenant.display_name} already runs at home in {tenant.region}."
        )
    home = _home_database(tenant)
    _away_online(tenant)
    return RepatriationParameters(
        slug=tenant.slug,
        database_name=tenant.database_name,
        home_region=tenant.region,
        home_server_id=tenant.sql_server_id,
        home_pool_id=tenant.elastic_pool_id,
        home_site_id=tenant.app_service_site_id,
        away_database_id=away.database_id,
        away_site_id=away.site_id,
        aside_name=aside_name(tenant.database_name, now),
        identity_ids=list(home.identity_ids) if home else [],
        encryption_protector=home.encryption_protector if home else None,
        standby_before=_standby_before(tenant),
    )


# What a repatriation that failed after its planned failover hands to the one that continues it.
_CARRIED = (
    "home_app_before",
    "set_aside",
    "switch_started_at",
    "failover_done_at",
    "home_connection_before",
)


def unfinished_repatriation(tenant: Tenant) -> Operation | None:
    """The tenant's last repatriation if it failed after its planned failover (the tenant is
    home, its app maybe not): requesting again continues it."""
    last = (
        Operation.objects.filter(
            tenant=tenant, kind=REPATRIATE, state__in=Operation.FINISHED_STATES
        )
        .order_by("-id")
        .first()
    )
    if last is None or last.state == Operation.State.SUCCEEDED:
        return None
    return last if last.checkpoint.get("failover_done_at") else None


def repatriation_request(
    *,
    tenants: list[Tenant],
    user: User,
    reason: str,
    ticket: str = "",
    enqueue: Any = enqueue_run,
) -> Operation:
    """Request bringing one tenant home, or several as one parent; RepatriationRefusedError
    (nothing created) when a tenant is at home, its home region or its copy cannot be read,
    or the person may not."""
    if not tenants:
        raise RepatriationRefusedError("Choose at least one tenant that runs away from home.")
    if not user.has_perm(APPROVE_OPERATION):
        raise RepatriationRefusedError("Only admins may bring tenants home.")
    now = timezone.now()
    if (
        len(tenants) == 1
        and tenants[0].active.at_home
        and (unfinished := unfinished_repatriation(tenants[0]))
    ):
        return _continue(unfinished, user=user, reason=reason, ticket=ticket, enqueue=enqueue)
    planned = [(tenant, repatriation_parameters(tenant, now)) for tenant in tenants]
    try:
        if len(planned) == 1:
            tenant, parameters = planned[0]
            return operation_request(
                kind=REPATRIATE,
                tenant=tenant,
                requested_by=user,
                reason=reason,
                ticket=ticket,
                parameters=parameters,
                enqueue=enqueue,
            )
        return operation_request(
            kind=REPATRIATE_SET,
            subject=Subject(
                Operation.Subject.FLEET, "repatriation", f"Repatriation of {len(planned)} tenants"
            ),
            requested_by=user,
            reason=reason,
            ticket=ticket,
            parameters=RepatriationSetParameters(repatriations=[asdict(p) for _, p in planned]),
            enqueue=enqueue,
        )
    except OperationRefusedError as exc:
        raise RepatriationRefusedError(str(exc)) from exc


def _continue(
    unfinished: Operation, *, user: User, reason: str, ticket: str, enqueue: Any
) -> Operation:
    """A new repatriation with the failed one's parameters and what it got done, so it carries
    on from pointing the home app at the home copy (its earlier steps see the failover done)."""
    try:
        return operation_request(
            kind=REPATRIATE,
            tenant=unfinished.tenant,
            requested_by=user,
            reason=reason,
            ticket=ticket,
            parameters=unfinished.parameters,
            checkpoint={
                **{k: unfinished.checkpoint[k] for k in _CARRIED if k in unfinished.checkpoint},
                "continues_operation": unfinished.pk,
            },
            enqueue=enqueue,
        )
    except OperationRefusedError as exc:
        raise RepatriationRefusedError(str(exc)) from exc


# -- the kinds ---------------------------------------------------------------------------------


def _children(operation: Operation) -> list[ChildRequest]:
    values = RepatriationSetParameters(**operation.parameters)
    tenants = Tenant.objects.in_bulk([r["slug"] for r in values.repatriations], field_name="slug")
    return [
        ChildRequest(
            REPATRIATE,
            tenant_subject(tenants[entry["slug"]]),
            RepatriationParameters(**entry),
            tenants[entry["slug"]],
        )
        for entry in values.repatriations
    ]


def supervise(context: Any) -> StepResult:
    return children_supervise(
        context,
        children=_children(context.operation),
        max_running=MAX_RUNNING,
        look_again_seconds=min(steps.look_again_seconds(), 5.0),
    )


def register_kinds() -> None:
    from dr.repatriation_steps import repatriation_plan

    register(
        OperationKind(
            name=REPATRIATE,
            label="Repatriation",
            permission=APPROVE_OPERATION,
            # The admin who asks decides the switch; deleting the copies left behind is a
            # separate request a second admin approves.
            needs_approval=lambda: False,
            plan=repatriation_plan,
            parameters=RepatriationParameters,
            untouched_outcome="The tenant still runs where it ran; nothing was changed.",
        )
    )
    register(
        OperationKind(
            name=REPATRIATE_SET,
            label="Repatriation of several tenants",
            permission=APPROVE_OPERATION,
            needs_approval=lambda: False,
            plan=lambda operation: [Step("repatriate", "Bring each tenant home", supervise)],
            parameters=RepatriationSetParameters,
            untouched_outcome="No tenant was moved.",
            pausable=True,
        )
    )

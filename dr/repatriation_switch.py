"""The repatriation's switch — the customer's only downtime — and the home app brought up on the
home copy (steps 6–9 of docs/dr.md, "Repatriation"). From the planned failover on, the tenant's
data is primary at home and the catalogue says so; a failure says where the tenant is and a new
request continues."""

from __future__ import annotations

from django.utils import timezone

from dr import steps
from dr.repatriation import RepatriationParameters
from dr.repatriation_state import (
    FAILOVER_BEGUN,
    FAILOVER_DONE_AT,
    FAILOVER_LINK,
    FAILOVER_SECONDS,
    FAILOVER_TOKEN,
    HOME_CONNECTION_BEFORE,
    SWITCH_LOOK_SECONDS,
    SWITCH_STARTED_AT,
    home_target,
    link_with_away,
    parameters,
    still_away,
)
from operations.context import StepContext, StepFailedError
from operations.kinds import StepResult, Wait
from portal.azure import replication, web
from portal.azure.errors import AzureOperationError
from portal.resource_ids import name_of
from tenants.services import tenant_active_copy_set

# -- 6. the switch -------------------------------------------------------------------------------


def _after_failover(p: RepatriationParameters, home_app: str) -> str:
    return (
        f"The planned failover is done: the tenant's data is primary at home in "
        f"{p.database_name} on {name_of(p.home_server_id)} (the catalogue says so) and the "
        f"Southeast copy is its geo-secondary; the standby app {name_of(p.away_site_id)} is "
        f"stopped and the home app {name_of(p.home_site_id)} {home_app}. Request the "
        f"repatriation of {p.slug} again to continue from where it stopped."
    )


def _failover_settled(context: StepContext, p: RepatriationParameters) -> Wait | None:
    """Begin the planned failover once; None once Azure says the home copy is primary."""
    link = link_with_away(p)
    if link is not None and link.role == "Primary":
        return None
    token = context.get(FAILOVER_TOKEN)
    if token is None and context.get(FAILOVER_BEGUN):
        # Begun by a run that died before recording its token: the link's roles tell.
        started = context.step.started_at or timezone.now()
        if (timezone.now() - started).total_seconds() > FAILOVER_SECONDS:
            raise StepFailedError("The planned failover did not finish.", code="FailoverLost")
        return Wait(SWITCH_LOOK_SECONDS, "Waiting for the planned failover…")
    if token is None:
        if link is None:
            raise StepFailedError(
                f"{p.database_name} at home has no replication link with the Southeast copy.",
                code="NoReplicationLink",
            )
        context.save(**{FAILOVER_BEGUN: True, FAILOVER_LINK: link.name})
        token = replication.failover_begin(
            secondary_database_id=p.home_database_id, link_name=link.name, allow_data_loss=False
        )
        context.save(**{FAILOVER_TOKEN: token})
    outcome = replication.failover_wait(
        secondary_database_id=p.home_database_id,
        link_name=context.get(FAILOVER_LINK) or (link.name if link else ""),
        continuation_token=token,
        timeout_seconds=0,
    )
    if outcome.done and not outcome.succeeded:
        raise StepFailedError(
            f"Azure refused the planned failover: {outcome.error_message}",
            code=outcome.error_code or "FailoverFailed",
        )
    return None if outcome.done else Wait(SWITCH_LOOK_SECONDS, "Planned failover under way…")


def _record_home(context: StepContext, p: RepatriationParameters) -> None:
    """The catalogue follows the data the moment the home copy is primary."""
    tenant_active_copy_set(
        tenant=context.tenant, copy=None, actor_name="worker", operation_id=context.operation.pk
    )
    context.save(**{FAILOVER_DONE_AT: timezone.now().isoformat()})
    context.outcome_if_failed(_after_failover(p, "is not started yet"))


def switch(context: StepContext) -> StepResult:
    """Stop the standby (the downtime starts), fail over without data loss to the home copy,
    record the tenant home. A failure before the failover starts the standby again."""
    p = parameters(context)
    if context.get(FAILOVER_DONE_AT):
        return "Planned failover done; the tenant's data is primary at home."
    if context.get(SWITCH_STARTED_AT) is None:
        context.save(**{SWITCH_STARTED_AT: timezone.now().isoformat()})
    try:
        web.site_stop(p.away_site_id)
        waiting = _failover_settled(context, p)
    except (AzureOperationError, StepFailedError) as exc:
        web.site_start(p.away_site_id)
        message = exc.message if isinstance(exc, StepFailedError) else str(exc)
        context.outcome_if_failed(still_away(p, " Its standby app was started again."))
        raise StepFailedError(message, code=exc.code or "FailoverFailed") from exc
    if waiting is not None:
        return waiting
    _record_home(context, p)
    return f"Standby stopped; planned failover done: {p.database_name} at home is primary."


# -- 7–9. point, start and verify the home app ---------------------------------------------------


def point_home_app(context: StepContext) -> str:
    p = parameters(context)
    done = steps.configure_app(context, home_target(p), before_key=HOME_CONNECTION_BEFORE)
    context.outcome_if_failed(_after_failover(p, "points at it but is not started yet"))
    return done


def start_home_app(context: StepContext) -> str:
    p = parameters(context)
    web.site_start(p.home_site_id)
    context.outcome_if_failed(_after_failover(p, "was started but not yet seen healthy"))
    return f"{name_of(p.home_site_id)} started."


def verify_home(context: StepContext) -> StepResult:
    return steps.verify(context, home_target(parameters(context)))

"""One tenant's repatriation, step by step (docs/dr.md, "Repatriation").

Every step is idempotent and checkpoints what it learns, so a run resumed after a worker was
killed finds its own work: the stale home database by its set-aside name, the home copy by the
tenant's database name and its replication link, the failover by the link's roles. A
geo-secondary is begun only when no database of the tenant's name is on the home server.

Until the planned failover the tenant runs in Australia Southeast: a failure leaves it there
(the standby started again if the switch had stopped it). From the failover on its data is
primary at home and the catalogue says so at once (never pointing at a copy that is not
primary); a failure after it says exactly where the tenant is, and requesting the
repatriation again continues from where this one stopped.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from backups.restores import CLEANUP
from dr import steps
from dr.models import DrRepatriation
from dr.repatriation import RepatriationParameters
from operations.context import StepContext, StepFailedError
from operations.kinds import Step, StepResult, Subject, Wait
from operations.models import Operation
from operations.services import OperationRefusedError, operation_create
from portal.audit import audit_record
from portal.azure import replication, sites, sql, web
from portal.azure.errors import AzureNotFoundError, AzureOperationError
from portal.resource_ids import name_of, same
from tenants.services import tenant_active_copy_set

ROLE_HOME = "repatriated"
ROLE_ASIDE = "pre-failover"
# How long the switch looks for a planned failover begun by a run that died before recording
# its token, before it says it cannot tell.
FAILOVER_SECONDS = 300.0
# While the customer is down the switch looks at Azure more often than other waits.
SWITCH_LOOK_SECONDS = 1.0

# Checkpoint keys.
HOME_APP_BEFORE = "home_app_before"  # the home app's state when repatriation began
SET_ASIDE = "set_aside"  # "linked" | "renamed" | "absent"
SECONDARY_BEGUN = "secondary_begun"
SECONDARY_TOKEN = "secondary_token"  # noqa: S105 - a continuation token's key, not a secret
SECONDARY_CREATED = "secondary_created"
SWITCH_STARTED_AT = "switch_started_at"
FAILOVER_BEGUN = "failover_begun"
FAILOVER_LINK = "failover_link"  # the link's name (a GUID), for polling the failover
FAILOVER_TOKEN = "failover_token"  # noqa: S105 - a continuation token's key, not a secret
FAILOVER_DONE_AT = "failover_done_at"
HOME_CONNECTION_BEFORE = "home_connection_before"
CLEANUPS = "cleanup_operation_ids"  # {"away": id, "aside": id}


def _p(context: StepContext) -> RepatriationParameters:
    return context.parameters(RepatriationParameters)


def _home_target(p: RepatriationParameters) -> steps.StandbyTarget:
    """The home app and database in the shape the shared app steps take."""
    return steps.StandbyTarget(
        primary_server_id=p.home_server_id,
        database_name=p.database_name,
        paired_server_id=p.home_server_id,
        target_name=p.database_name,
        location=p.home_region,
        elastic_pool_id=p.home_pool_id,
        standby_site_id=p.home_site_id,
        identity_ids=list(p.identity_ids),
        encryption_protector=p.encryption_protector,
    )


def _link(p: RepatriationParameters) -> replication.ReplicationLink | None:
    """The home database's replication link with the Australia Southeast copy, if any."""
    try:
        links = replication.replication_links(p.home_database_id)
    except AzureNotFoundError:
        return None
    for link in links:
        if same(link.partner_database_id, p.away_database_id) or (
            link.partner_server.lower() == name_of(p.away_server_id).lower()
        ):
            return link
    return None


def _switched(context: StepContext) -> str | None:
    """Words for a step before the switch that an earlier, failed run already got past."""
    if context.get(FAILOVER_DONE_AT):
        return "Done before the planned failover of an earlier run; nothing to do."
    return None


def _still_away(p: RepatriationParameters, more: str = "") -> str:
    return (
        f"The tenant still runs in Australia Southeast on {name_of(p.away_database_id)} with "
        f"its standby app {name_of(p.away_site_id)}.{more}"
    )


# -- 1. check ----------------------------------------------------------------------------------


def check(context: StepContext) -> str:
    """The tenant still runs away, its home server answers, and its Southeast copy is Online."""
    p = _p(context)
    if done := _switched(context):
        return done
    tenant = context.tenant
    tenant.refresh_from_db()
    if tenant.active.at_home or not same(tenant.active.database_id, p.away_database_id):
        raise StepFailedError(
            f"{tenant.slug} no longer runs on {name_of(p.away_database_id)} "
            f"(the catalogue says {tenant.active.database_name} in {tenant.active.region}).",
            code="MovedSinceRequested",
        )
    sql.databases_list(p.home_server_id)  # the home region answers (a transient error retries)
    status = sql.database_get(p.away_database_id).status
    if status != "Online":
        raise StepFailedError(
            f"{name_of(p.away_database_id)} is {status}, not Online.", code="AwayNotOnline"
        )
    context.outcome_if_failed(_still_away(p, " Nothing was changed."))
    return f"{name_of(p.away_database_id)} is Online; {name_of(p.home_server_id)} answers."


# -- 2. stop the home app ----------------------------------------------------------------------


def stop_home_app(context: StepContext) -> str:
    """The home app points at the stale pre-failover database: stop it (customers are on the
    standby, so this costs them nothing)."""
    p = _p(context)
    if done := _switched(context):
        return done
    if context.get(HOME_APP_BEFORE) is None:
        context.save(**{HOME_APP_BEFORE: web.site_get(p.home_site_id).state})
    web.site_stop(p.home_site_id)
    context.outcome_if_failed(
        _still_away(
            p,
            f" Its home app {name_of(p.home_site_id)} was stopped (it pointed at the stale "
            "database) and stays stopped.",
        )
    )
    return f"{name_of(p.home_site_id)} stopped (it was {context.get(HOME_APP_BEFORE)})."


# -- 3. set the stale home database aside ------------------------------------------------------


def _aside_tags(context: StepContext, tags: dict[str, str]) -> dict[str, str]:
    return {
        **tags,
        "fleetwise-tenant": _p(context).slug,
        "fleetwise-operation": str(context.operation.pk),
        "fleetwise-role": ROLE_ASIDE,
    }


def set_aside(context: StepContext) -> str:
    """Rename the stale home database out of the way (kept, never deleted here), unless it is
    already replicated with the Southeast copy (a tenant failed over through its link)."""
    p = _p(context)
    if done := _switched(context):
        return done
    if context.get(SET_ASIDE) != "renamed" and _link(p) is not None:
        context.save(**{SET_ASIDE: "linked"})
        return f"{p.database_name} at home is already replicated with the Southeast copy: kept."
    home = sql.database_find(p.home_server_id, p.database_name)
    aside = sql.database_find(p.home_server_id, p.aside_name)
    if home is not None and aside is not None:
        raise StepFailedError(
            f"Both {p.database_name} and {p.aside_name} exist on {name_of(p.home_server_id)} "
            "and neither is replicated with the Southeast copy; both were left alone.",
            code="HomeNameTaken",
        )
    if home is None and aside is None:
        context.save(**{SET_ASIDE: "absent"})
        return f"No {p.database_name} on {name_of(p.home_server_id)}: nothing to set aside."
    if home is not None:
        aside_id = sql.database_rename(home.id, p.aside_name)
        aside = sql.database_get(aside_id)
    assert aside is not None  # noqa: S101 - found or just renamed
    wanted = _aside_tags(context, dict(aside.tags))
    if dict(aside.tags) != wanted:
        sql.database_tags_set(aside.id, wanted)
    context.save(**{SET_ASIDE: "renamed"})
    context.outcome_if_failed(
        _still_away(p, f" The stale home database is kept as {p.aside_name}.")
    )
    return f"Stale home database renamed {p.aside_name} and tagged {ROLE_ASIDE}; kept."


# -- 4. begin the home copy --------------------------------------------------------------------


def begin_secondary(context: StepContext) -> str:
    """Begin the geo-secondary `<db>` on the home server in the home pool, keeping the tenant's
    key; begun only when no database of that name is there (an earlier run began it)."""
    p = _p(context)
    if done := _switched(context):
        return done
    if context.get(SET_ASIDE) == "linked":
        return "The home database is already a geo-secondary of the Southeast copy."
    if not context.get(SECONDARY_BEGUN):
        if sql.database_find(p.home_server_id, p.database_name) is None:
            token = replication.geo_secondary_begin(
                primary_database_id=p.away_database_id,
                secondary_server_id=p.home_server_id,
                location=p.home_region,
                elastic_pool_id=p.home_pool_id,
                tags={
                    "fleetwise-tenant": p.slug,
                    "fleetwise-operation": str(context.operation.pk),
                    "fleetwise-role": ROLE_HOME,
                },
                identity_ids=tuple(p.identity_ids),
                encryption_protector=p.encryption_protector,
            )
            context.save(**{SECONDARY_BEGUN: True, SECONDARY_TOKEN: token})
        else:
            # Begun by a run that died before recording it: never begin a second one.
            context.save(**{SECONDARY_BEGUN: True, SECONDARY_TOKEN: None})
    context.outcome_if_failed(
        _still_away(
            p,
            f" {p.database_name} on {name_of(p.home_server_id)} is kept as a geo-secondary of "
            "the Southeast copy; requesting the repatriation again reuses it.",
        )
    )
    return f"Geo-secondary {p.database_name} begun on {name_of(p.home_server_id)}."


# -- 5. wait until caught up ---------------------------------------------------------------------


def catch_up(context: StepContext) -> StepResult:
    """Wait (no worker held) until Azure has made the home copy and its link is CATCH_UP."""
    p = _p(context)
    if done := _switched(context):
        return done
    token = context.get(SECONDARY_TOKEN)
    if token and not context.get(SECONDARY_CREATED):
        outcome = sql.database_restore_wait(
            target_id=p.home_database_id, continuation_token=token, timeout_seconds=0
        )
        if outcome.done and not outcome.succeeded:
            raise StepFailedError(outcome.error_message, code=outcome.error_code)
        if not outcome.done:
            return Wait(steps.look_again_seconds(), f"Creating {p.database_name} at home…")
        context.save(**{SECONDARY_CREATED: True})
    link = _link(p)
    if link is None:
        if sql.database_find(p.home_server_id, p.database_name) is None:
            raise StepFailedError(
                f"The geo-secondary {p.database_name} on {name_of(p.home_server_id)} vanished.",
                code="SecondaryVanished",
            )
        return Wait(steps.look_again_seconds(), "Waiting for the replication link to appear…")
    if link.caught_up:
        return f"{p.database_name} at home has caught up ({link.state})."
    return Wait(
        steps.look_again_seconds(),
        f"Seeding {p.database_name} at home: {link.state}, {link.percent_complete}%.",
    )


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
    link = _link(p)
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
    p = _p(context)
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
        context.outcome_if_failed(_still_away(p, " Its standby app was started again."))
        raise StepFailedError(message, code=exc.code or "FailoverFailed") from exc
    if waiting is not None:
        return waiting
    _record_home(context, p)
    return f"Standby stopped; planned failover done: {p.database_name} at home is primary."


# -- 7–9. point, start and verify the home app ---------------------------------------------------


def point_home_app(context: StepContext) -> str:
    p = _p(context)
    done = steps.configure_app(context, _home_target(p), before_key=HOME_CONNECTION_BEFORE)
    context.outcome_if_failed(_after_failover(p, "points at it but is not started yet"))
    return done


def start_home_app(context: StepContext) -> str:
    p = _p(context)
    web.site_start(p.home_site_id)
    context.outcome_if_failed(_after_failover(p, "was started but not yet seen healthy"))
    return f"{name_of(p.home_site_id)} started."


def verify_home(context: StepContext) -> StepResult:
    return steps.verify(context, _home_target(_p(context)))


# -- 10. record ------------------------------------------------------------------------------


def _moment(context: StepContext, key: str) -> datetime:
    text = context.get(key)
    return datetime.fromisoformat(text) if text else timezone.now()


def record(context: StepContext) -> str:
    """The repatriation with its downtime: first seen healthy at home − the standby's stop."""
    p = _p(context)
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
    p = _p(context)
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
    p = _p(context)
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


def repatriation_plan(operation: Operation) -> list[Step]:
    p = RepatriationParameters(**operation.parameters)
    home, away = name_of(p.home_site_id), name_of(p.away_site_id)
    db, server = p.database_name, name_of(p.home_server_id)
    return [
        Step("check", "Check the Southeast copy is Online and the home region answers", check),
        Step(
            "stop_home",
            f"Stop the home app {home} (it points at the stale database)",
            stop_home_app,
        ),
        Step("set_aside", f"Set the stale {db} aside as {p.aside_name}", set_aside),
        Step("secondary", f"Create {db} on {server} as a geo-secondary", begin_secondary),
        Step("catch_up", f"Wait until {db} at home has caught up", catch_up),
        Step(
            "switch",
            f"Switch: stop {away}, planned failover to {server}",
            switch,
            cancellable=False,
        ),
        Step("point_home", f"Point {home} at {db}", point_home_app, cancellable=False),
        Step("start_home", f"Start {home}", start_home_app, cancellable=False),
        Step("verify", f"Check {home} answers and {db} is online", verify_home, cancellable=False),
        Step("record", "Record the tenant home and the downtime", record),
        Step("standby_back", f"Stop {away} with its pre-failover settings", standby_back),
        Step(
            "deletions",
            "Request the deletion of the Southeast copy and the stale database",
            request_deletions,
        ),
    ]

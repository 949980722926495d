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

Here: steps 1–5 (everything before the switch, while customers use the standby) and the plan.
The switch and the home app are in `dr/repatriation_switch.py`, what follows in
`dr/repatriation_finish.py`, the checkpoint keys and shared helpers in `dr/repatriation_state.py`.
"""

from __future__ import annotations

from dr import steps
from dr.repatriation import RepatriationParameters
from dr.repatriation_finish import record, request_deletions, standby_back
from dr.repatriation_state import (
    HOME_APP_BEFORE,
    ROLE_ASIDE,
    ROLE_HOME,
    SECONDARY_BEGUN,
    SECONDARY_CREATED,
    SECONDARY_TOKEN,
    SET_ASIDE,
    link_with_away,
    parameters,
    still_away,
    switched,
)
from dr.repatriation_switch import point_home_app, start_home_app, switch, verify_home
from operations.context import StepContext, StepFailedError
from operations.kinds import Step, StepResult, Wait
from operations.models import Operation
from portal.azure import replication, sql, web
from portal.resource_ids import name_of, same

# -- 1. check ----------------------------------------------------------------------------------


def check(context: StepContext) -> str:
    """The tenant still runs away, its home server answers, and its Southeast copy is Online."""
    p = parameters(context)
    if done := switched(context):
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
    context.outcome_if_failed(still_away(p, " Nothing was changed."))
    return f"{name_of(p.away_database_id)} is Online; {name_of(p.home_server_id)} answers."


# -- 2. stop the home app ----------------------------------------------------------------------


def stop_home_app(context: StepContext) -> str:
    """The home app points at the stale pre-failover database: stop it (customers are on the
    standby, so this costs them nothing)."""
    p = parameters(context)
    if done := switched(context):
        return done
    if context.get(HOME_APP_BEFORE) is None:
        context.save(**{HOME_APP_BEFORE: web.site_get(p.home_site_id).state})
    web.site_stop(p.home_site_id)
    context.outcome_if_failed(
        still_away(
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
        "fleetwise-tenant": parameters(context).slug,
        "fleetwise-operation": str(context.operation.pk),
        "fleetwise-role": ROLE_ASIDE,
    }


def set_aside(context: StepContext) -> str:
    """Rename the stale home database out of the way (kept, never deleted here), unless it is
    already replicated with the Southeast copy (a tenant failed over through its link)."""
    p = parameters(context)
    if done := switched(context):
        return done
    if context.get(SET_ASIDE) != "renamed" and link_with_away(p) is not None:
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
    context.outcome_if_failed(still_away(p, f" The stale home database is kept as {p.aside_name}."))
    return f"Stale home database renamed {p.aside_name} and tagged {ROLE_ASIDE}; kept."


# -- 4. begin the home copy --------------------------------------------------------------------


def begin_secondary(context: StepContext) -> str:
    """Begin the geo-secondary `<db>` on the home server in the home pool, keeping the tenant's
    key; begun only when no database of that name is there (an earlier run began it)."""
    p = parameters(context)
    if done := switched(context):
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
        still_away(
            p,
            f" {p.database_name} on {name_of(p.home_server_id)} is kept as a geo-secondary of "
            "the Southeast copy; requesting the repatriation again reuses it.",
        )
    )
    return f"Geo-secondary {p.database_name} begun on {name_of(p.home_server_id)}."


# -- 5. wait until caught up ---------------------------------------------------------------------


def catch_up(context: StepContext) -> StepResult:
    """Wait (no worker held) until Azure has made the home copy and its link is CATCH_UP."""
    p = parameters(context)
    if done := switched(context):
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
    link = link_with_away(p)
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

"""Restore operations: the steps of a restore in parallel and in place (docs/architecture.md §6).

Every step is idempotent. Names are chosen when the restore is requested and kept in the
operation's parameters, so a resumed step looks for the database it would create or rename
and carries on from what it finds; a restore is begun only when its target does not exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from backups.superseded import SUPERSEDED_ROLES, newer_copy_refusal
from operations.engine import StepContext, StepFailedError
from operations.kinds import Limit, OperationKind, Step, StepResult, Wait, kind_of, register
from operations.models import Operation
from portal.azure import sql, web
from portal.azure.errors import AzureNotFoundError
from portal.resource_ids import name_of, parse
from portal.roles import APPROVE_OPERATION, REQUEST_RESTORE

PARALLEL = "restore_parallel"
IN_PLACE = "restore_in_place"
CLEANUP = "restore_cleanup"
RESTORE_KINDS = (PARALLEL, IN_PLACE)
# Databases the portal made and may later delete: tag fleetwise-role.
# Kept-until copies (restore copies, pre-restore databases, drills) are deleted once their date
# has passed; superseded ones (backups/superseded.py) once the tenant's newer copy is healthy.
DISPOSABLE_ROLES = ("restore-copy", "pre-restore", "dr-drill", *SUPERSEDED_ROLES)


def look_again_seconds() -> float:
    """How long a step waiting for Azure lets pass before it looks again. Each look is one
    poll of the operation's status; between looks the worker is free for other work."""
    return float(settings.OPERATIONS_WAIT_SECONDS)


VERIFY_SECONDS = 120.0

UNTOUCHED = "The tenant's live database and app were not touched."


@dataclass(frozen=True)
class RestoreParameters:
    """What a restore was asked to do, checked against Azure when requested (times ISO-8601)."""

    mode: str
    source: str
    create_mode: str
    database_id: str
    server_id: str
    elastic_pool_id: str | None
    subscription_id: str
    location: str
    site_id: str
    target_name: str
    target_id: str
    geo_server_id: str | None = None
    point_in_time: str | None = None
    source_database_id: str | None = None
    long_term_retention_backup_id: str | None = None
    restorable_dropped_database_id: str | None = None
    # Parallel: when the kept copy may be deleted.
    copy_expires_at: str | None = None
    # In place: where the live database is kept, and until when.
    pre_restore_name: str = ""
    pre_restore_id: str = ""
    pre_restore_expires_at: str = ""
    # The tenant's customer-managed key, passed to the restore (Azure does not carry it over).
    identity_ids: list[str] = field(default_factory=list)
    key_uris: list[str] = field(default_factory=list)
    encryption_protector: str | None = None


@dataclass(frozen=True)
class CleanupParameters:
    server_id: str
    database_name: str
    database_id: str
    keep_until: str


def _p(context: StepContext) -> RestoreParameters:
    return context.parameters(RestoreParameters)


def _cp(context: StepContext) -> CleanupParameters:
    return context.parameters(CleanupParameters)


def restore_parameters(operation: Operation) -> RestoreParameters:
    value = kind_of(operation.kind).parameters_from(operation.parameters)
    assert isinstance(value, RestoreParameters)  # noqa: S101 - a restore kind's own type
    return value


def _elapsed(context: StepContext) -> str:
    started = context.step.started_at or timezone.now()
    return f"{(timezone.now() - started).total_seconds():.0f} s so far"


def _server_id(database_id: str) -> str:
    return str(parse(database_id).parent)


def _tags(context: StepContext, role: str) -> dict[str, str]:
    return {
        "fleetwise-tenant": context.tenant.slug,
        "fleetwise-operation": str(context.operation.pk),
        "fleetwise-role": role,
    }


def _copy_tags(context: StepContext) -> dict[str, str]:
    tags = _tags(context, "restore-copy")
    expires = _p(context).copy_expires_at
    if expires:
        # Found by `manage.py cleanup_restore_copies` once passed; deleted only with approval.
        tags["fleetwise-keep-until"] = expires
    return tags


# -- steps shared by both modes --------------------------------------------------------------


def check_source(context: StepContext) -> str:
    """The source is still restorable as asked (the window moves on while requests queue)."""
    source = _p(context).source
    if source == "point_in_time":
        database = sql.database_get(_p(context).source_database_id or "")
        moment = datetime.fromisoformat(_p(context).point_in_time or "")
        if database.earliest_restore_date is None or moment < database.earliest_restore_date:
            raise StepFailedError(
                f"The restore window has moved past {moment:%Y-%m-%d %H:%M:%S} UTC since the "
                f"request (earliest now {database.earliest_restore_date}).",
                code="RestoreWindowMoved",
            )
        message = f"{database.name} can be restored to {moment:%Y-%m-%d %H:%M:%S} UTC."
    elif source == "long_term_backup":
        backup_id = _p(context).long_term_retention_backup_id or ""
        backups = sql.long_term_retention_backups(_p(context).database_id)
        if not any(b.id.lower() == backup_id.lower() for b in backups):
            raise StepFailedError("The long-term backup no longer exists.", code="LtrBackupGone")
        message = "The long-term backup is available."
    else:
        dropped_id = _p(context).restorable_dropped_database_id or ""
        dropped = sql.restorable_dropped_databases(_server_id(_p(context).database_id))
        if not any(d.id.lower() == dropped_id.lower() for d in dropped):
            raise StepFailedError(
                "The deleted database can no longer be restored.", code="DroppedDatabaseGone"
            )
        message = "The deleted database can be restored."
    if context.operation.kind == IN_PLACE:
        live = sql.database_get(_p(context).database_id)
        if sql.geo_replication_partners(live.id, partner_server_ids=_geo_servers(context)):
            raise StepFailedError(
                f"{live.name} is geo-replicated; an in-place swap would break replication. "
                "Restore in parallel instead, or remove the geo-replica first.",
                code="GeoReplicated",
            )
        if "live_settings" not in context.operation.checkpoint:
            context.save(
                live_settings={
                    "tags": dict(live.tags),
                    "ltr_policy": asdict(sql.ltr_policy_get(live.id)),
                    "auditing": asdict(sql.database_auditing_get(live.id)),
                }
            )
    return message


def restore_copy(context: StepContext) -> StepResult:
    """Begin the restore into the target name (unless it exists), then look once per visit
    until Azure says it is done (the continuation token lets any worker look)."""
    p = _p(context)
    if not context.get("restore_begun"):
        if sql.database_find(p.server_id, p.target_name) is None:
            token = sql.database_restore_begin(
                target_id=p.target_id,
                location=p.location,
                create_mode=p.create_mode,
                source_database_id=p.source_database_id,
                restore_point_in_time=_iso(p.point_in_time),
                long_term_retention_backup_id=p.long_term_retention_backup_id,
                restorable_dropped_database_id=p.restorable_dropped_database_id,
                elastic_pool_id=p.elastic_pool_id,
                # Azure restores neither tags nor a database-level key: both are passed.
                tags=_copy_tags(context),
                identity_ids=tuple(p.identity_ids),
                key_uris=tuple(p.key_uris),
                encryption_protector=p.encryption_protector,
            )
            context.save(restore_begun=True, restore_token=token)
        else:
            # Begun by an earlier run that died before recording it: never begin twice.
            context.save(restore_begun=True, restore_token=None)
    token = context.get("restore_token")
    if token:
        outcome = sql.database_restore_wait(
            target_id=p.target_id, continuation_token=token, timeout_seconds=0
        )
        if outcome.done and not outcome.succeeded:
            context.outcome_if_failed(f"{UNTOUCHED} Azure removes the failed copy.")
            raise StepFailedError(outcome.error_message, code=outcome.error_code)
        if outcome.done:
            return f"{p.target_name} restored."
    else:
        copy = sql.database_find(p.server_id, p.target_name)
        if copy is None:
            raise StepFailedError(
                f"The restore into {p.target_name} disappeared.", code="RestoreVanished"
            )
        if copy.status == "Online":
            return f"{p.target_name} restored."
    return Wait(look_again_seconds(), f"Restoring into {p.target_name}… {_elapsed(context)}.")


def verify_copy(context: StepContext) -> str:
    copy = sql.database_get(_p(context).target_id)
    if copy.status != "Online":
        raise StepFailedError(
            f"{copy.name} reports {copy.status}, not Online.", code="CopyNotOnline"
        )
    return f"{copy.name} is online in {name_of(copy.elastic_pool_id, default='no pool')}."


def verify_key(context: StepContext) -> str:
    """The copy is encrypted with the tenant's key and reaches it with the tenant's identity.

    Azure answers a restore that lost the database-level key with a healthy database under the
    server's encryption, so this is checked, not assumed.
    """
    protector = _p(context).encryption_protector
    if not protector:
        return "The tenant uses the server's TDE key; nothing to check."
    copy = sql.database_get(_p(context).target_id)
    wanted = set(_p(context).identity_ids)
    problems = []
    if (copy.encryption_protector or "").lower() != protector.lower():
        problems.append(f"its protector is {copy.encryption_protector or 'the server key'}")
    if not wanted <= set(copy.identity_ids):
        problems.append("it lacks the tenant's identity")
    if problems:
        context.outcome_if_failed(
            f"{UNTOUCHED} The copy {copy.name} came back without the tenant's "
            "key and must not be used; ask an admin to delete it."
        )
        raise StepFailedError(
            f"{copy.name} came back without the tenant's key ({'; '.join(problems)}).",
            code="CopyLostTenantKey",
        )
    return f"{copy.name} is encrypted with the tenant's key {protector.rsplit('/', 1)[-1][:8]}."


def cancel_restore(context: StepContext) -> str:
    """Stop a restore still under way by deleting the database being restored (as Azure allows)."""
    if not context.get("restore_begun"):
        return UNTOUCHED
    copy = sql.database_find(_p(context).server_id, _p(context).target_name)
    if copy is None:
        return UNTOUCHED
    if copy.status == "Online" and context.operation.kind == PARALLEL:
        return f"{UNTOUCHED} The restored copy {copy.name} had finished and was kept."
    sql.database_delete_begin(copy.id)
    return f"{UNTOUCHED} The restore was stopped and the partial copy {copy.name} is being deleted."


def _geo_servers(context: StepContext) -> list[str] | None:
    """The catalogue's paired-region server if known (one GET), else every server is asked."""
    geo = _p(context).geo_server_id
    return [geo] if geo else None


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# -- the in-place swap ----------------------------------------------------------------------


def stop_app(context: StepContext) -> str:
    web.site_stop(_p(context).site_id)
    return "App stopped: downtime starts."


def start_app_again(context: StepContext) -> str:
    web.site_start(_p(context).site_id)
    return "App started again."


def rename_live_aside(context: StepContext) -> str:
    server_id = _p(context).server_id
    pre_name = _p(context).pre_restore_name
    # Said before renaming, so a run resumed after a crash mid-step still knows it.
    context.outcome_if_rolled_back(
        f"the tenant is back on its original database "
        f"{context.tenant.database_name}; the restored copy {_p(context).target_name} was kept."
    )
    if sql.database_find(server_id, pre_name) is not None:
        return f"Live database already renamed to {pre_name}."
    sql.database_rename(_p(context).database_id, pre_name)
    return f"Live database renamed to {pre_name}."


def rename_live_back(context: StepContext) -> str:
    server_id = _p(context).server_id
    live_name = context.tenant.database_name
    pre = sql.database_find(server_id, _p(context).pre_restore_name)
    if pre is None:
        return "Original database already has its name."
    sql.database_rename(pre.id, live_name)
    return f"Original database renamed back to {live_name}."


def rename_copy_live(context: StepContext) -> str:
    server_id = _p(context).server_id
    live_name = context.tenant.database_name
    if sql.database_find(server_id, _p(context).target_name) is None and sql.database_find(
        server_id, live_name
    ):
        return f"Restored copy already renamed to {live_name}."
    sql.database_rename(_p(context).target_id, live_name)
    return f"Restored copy renamed to {live_name}: the tenant now uses the restored data."


def rename_copy_back(context: StepContext) -> str:
    server_id = _p(context).server_id
    current = sql.database_find(server_id, context.tenant.database_name)
    if current is None or current.tags.get("fleetwise-operation") != str(context.operation.pk):
        return "Restored copy already has its own name."
    sql.database_rename(current.id, _p(context).target_name)
    return f"Restored copy renamed back to {_p(context).target_name}."


def reapply_settings(context: StepContext) -> str:
    live_id = _p(context).database_id
    saved = context.get("live_settings", {})
    tags = {**saved.get("tags", {}), "fleetwise-restored-by-operation": str(context.operation.pk)}
    sql.database_tags_set(live_id, tags)
    if saved.get("ltr_policy"):
        sql.ltr_policy_set(live_id, sql.LtrPolicy(**saved["ltr_policy"]))
    if saved.get("auditing"):
        auditing = dict(saved["auditing"])
        auditing["audit_actions_and_groups"] = tuple(auditing.get("audit_actions_and_groups", ()))
        sql.database_auditing_set(live_id, sql.AuditingPolicy(**auditing))
    pre_id = _p(context).pre_restore_id
    sql.database_tags_set(
        pre_id,
        {
            **saved.get("tags", {}),
            **_tags(context, "pre-restore"),
            "fleetwise-keep-until": _p(context).pre_restore_expires_at,
        },
    )
    return "Tags, long-term retention and auditing re-applied to the restored database."


def start_app(context: StepContext) -> str:
    web.site_start(_p(context).site_id)
    return "App started: downtime ends."


def stop_app_again(context: StepContext) -> str:
    web.site_stop(_p(context).site_id)
    return "App stopped again for the roll-back."


def verify_tenant(context: StepContext) -> StepResult:
    """The app runs and the (restored) live database is online, within a grace period."""
    site = web.site_get(_p(context).site_id)
    try:
        status = sql.database_get(_p(context).database_id).status
    except AzureNotFoundError:
        status = "missing"
    if site.state == "Running" and status == "Online":
        return "App running and database online."
    started = context.step.started_at or timezone.now()
    if (timezone.now() - started).total_seconds() > VERIFY_SECONDS:
        raise StepFailedError(
            f"After the swap the app reports {site.state} and the database {status}.",
            code="TenantUnhealthy",
        )
    return Wait(
        min(look_again_seconds(), 5.0), "Waiting for the app and database to report healthy…"
    )


# -- kinds ----------------------------------------------------------------------------------


def _parallel_plan(operation: Operation) -> list[Step]:
    return [
        Step("check", "Check the source and the restore window", check_source),
        Step("restore", f"Restore into {restore_parameters(operation).target_name}", restore_copy),
        Step("verify", "Check the restored copy is online", verify_copy),
        Step("verify_key", "Check the restored copy kept the tenant's key", verify_key),
    ]


def _in_place_plan(operation: Operation) -> list[Step]:
    p = restore_parameters(operation)
    live = parse(p.database_id).name
    return [
        Step("check", "Check the source, the window and geo-replication", check_source),
        Step("restore", f"Restore beside the live database into {p.target_name}", restore_copy),
        Step("verify_copy", "Check the restored copy is online", verify_copy),
        Step("verify_key", "Check the restored copy kept the tenant's key", verify_key),
        Step(
            "stop_app", "Stop the tenant's app", stop_app, undo=start_app_again, cancellable=False
        ),
        Step(
            "rename_live",
            f"Rename {live} to {p.pre_restore_name}",
            rename_live_aside,
            undo=rename_live_back,
            cancellable=False,
        ),
        Step(
            "rename_copy",
            f"Rename {p.target_name} to {live}",
            rename_copy_live,
            undo=rename_copy_back,
            cancellable=False,
        ),
        Step(
            "reapply",
            "Re-apply tags, long-term retention and auditing",
            reapply_settings,
            cancellable=False,
        ),
        Step(
            "start_app", "Start the tenant's app", start_app, undo=stop_app_again, cancellable=False
        ),
        Step(
            "verify", "Check the app and database report healthy", verify_tenant, cancellable=False
        ),
    ]


# -- cleanup of kept copies (always approved by a second person) --------------------------------


def check_disposable(context: StepContext) -> str:
    """Delete only what the portal made for this tenant and whose keep-until date has passed."""
    database = sql.database_find(_cp(context).server_id, _cp(context).database_name)
    if database is None:
        return "Already gone."
    tags = database.tags
    if (
        tags.get("fleetwise-tenant") != context.tenant.slug
        or tags.get("fleetwise-role") not in DISPOSABLE_ROLES
    ):
        raise StepFailedError(
            f"{database.name} is not a restore copy of this tenant; it was left alone.",
            code="NotDisposable",
        )
    if database.id.lower() == context.tenant.database_id.lower():
        raise StepFailedError(
            "That is the tenant's live database; it was left alone.", code="LiveDatabase"
        )
    if tags["fleetwise-role"] in SUPERSEDED_ROLES:
        _refuse_unless_newer_copy_healthy(context, database)
        return (
            f"{database.name} ({tags['fleetwise-role']}) was superseded; the copy the tenant "
            "runs on now is Online and primary."
        )
    keep_until = tags.get("fleetwise-keep-until", "")
    if not keep_until or datetime.fromisoformat(keep_until) > context.operation.created_at:
        raise StepFailedError(
            f"{database.name} is kept until {keep_until or 'further notice'}.", code="StillKept"
        )
    return (
        f"{database.name} ({tags['fleetwise-role']}) was kept until {keep_until}: no longer needed."
    )


def _refuse_unless_newer_copy_healthy(context: StepContext, database: sql.DatabaseInfo) -> None:
    refusal = newer_copy_refusal(tenant=context.tenant, database=database)
    if refusal:
        raise StepFailedError(refusal, code="NewerCopyNotHealthy")


def delete_copy(context: StepContext) -> StepResult:
    """Begin the delete once (its token kept), then look once per visit until it is done."""
    p = _cp(context)
    token = context.get("delete_token")
    if token is None:
        database = sql.database_find(p.server_id, p.database_name)
        if database is None:
            return "Deleted."
        if database.tags.get("fleetwise-role") in SUPERSEDED_ROLES:
            # Asked again right before the delete begins: a retry may come long after the check.
            _refuse_unless_newer_copy_healthy(context, database)
        context.save(delete_token=sql.database_delete_begin(database.id))
        token = context.get("delete_token")
    try:
        outcome = sql.database_delete_wait(
            database_id=p.database_id, continuation_token=token, timeout_seconds=0
        )
    except AzureNotFoundError:
        # Azure forgot the operation: the database tells how it ended.
        if sql.database_find(p.server_id, p.database_name) is None:
            return f"{p.database_name} deleted."
        context.save(delete_token=None)
        return Wait(look_again_seconds(), f"Deleting {p.database_name} again…")
    if outcome.done and not outcome.succeeded:
        raise StepFailedError(outcome.error_message, code=outcome.error_code)
    if outcome.done:
        return f"{p.database_name} deleted (restorable as a deleted database for its retention period)."
    return Wait(look_again_seconds(), f"Deleting {p.database_name}… {_elapsed(context)}.")


def _cleanup_plan(operation: Operation) -> list[Step]:
    name = kind_of(operation.kind).parameters_from(operation.parameters).database_name
    return [
        Step(
            "check",
            f"Check {name} is a copy the portal made for this tenant that is no longer needed "
            "(its keep-until date has passed, or the newer copy the tenant runs on is healthy)",
            check_disposable,
        ),
        Step("delete", f"Delete {name}", delete_copy, cancellable=False),
    ]


def restore_limits(parameters: RestoreParameters) -> list[Limit]:
    """Restores run at most as many at once per pool and per subscription as Azure processes
    (beyond that Azure queues them out of sight; the portal's own queue is fair and visible)."""
    limits = [
        Limit(
            f"restores:subscription:{parameters.subscription_id.lower()}",
            settings.RESTORE_MAX_PER_SUBSCRIPTION,
            "restores in this subscription",
        )
    ]
    if parameters.elastic_pool_id:
        limits.insert(0, restores_in_pool(parameters.elastic_pool_id))
    return limits


def restores_in_pool(pool_id: str, *, whole: bool = False) -> Limit:
    """The pool's restore slots; a kind that changes the pool itself takes them all (`whole`),
    so it never runs beside a restore into the pool."""
    return Limit(
        f"restores:pool:{pool_id.lower()}",
        settings.RESTORE_MAX_PER_POOL,
        "restores into this elastic pool",
        whole=whole,
    )


def _setting_flag(name: str) -> Callable[[], bool]:
    return lambda: bool(getattr(settings, name))


def register_kinds() -> None:
    for name, label, plan, approval_setting in (
        (PARALLEL, "Restore in parallel", _parallel_plan, "RESTORE_PARALLEL_NEEDS_APPROVAL"),
        (IN_PLACE, "Restore in place", _in_place_plan, "RESTORE_IN_PLACE_NEEDS_APPROVAL"),
    ):
        register(
            OperationKind(
                name=name,
                label=label,
                permission=REQUEST_RESTORE,
                # Read at request time, so a changed setting applies without a restart.
                needs_approval=_setting_flag(approval_setting),
                plan=plan,
                parameters=RestoreParameters,
                limits=restore_limits,
                cancel_running=cancel_restore,
                untouched_outcome=UNTOUCHED,
            )
        )
    register(
        OperationKind(
            name=CLEANUP,
            label="Delete a copy no longer needed (restore, DR drill, failover)",
            permission=APPROVE_OPERATION,
            # Deleting data is never one person's decision.
            needs_approval=lambda: True,
            plan=_cleanup_plan,
            parameters=CleanupParameters,
            untouched_outcome="Nothing was deleted.",
        )
    )

"""Restore operations: the steps of a restore in parallel and in place (docs/architecture.md §6).

Every step is idempotent. Names are chosen when the restore is requested and kept in the
operation's parameters, so a resumed step looks for the database it would create or rename
and carries on from what it finds; a restore is begun only when its target does not exist.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.conf import settings

from operations.engine import CancelledError, StepContext, StepFailedError
from operations.kinds import OperationKind, Step, register
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
DISPOSABLE_ROLES = ("restore-copy", "pre-restore")


def wait_slice() -> float:
    """How long one wait may block before the step renews its lease and checks for a cancel:
    well inside the lease, and short enough that a cancel is acted on within seconds."""
    return min(5.0, float(settings.OPERATIONS_LEASE_SECONDS) / 3)


VERIFY_SECONDS = 120.0

UNTOUCHED = "The tenant's live database and app were not touched."


def _p(context: StepContext, name: str) -> Any:
    return context.operation.parameters[name]


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
    expires = context.operation.parameters.get("copy_expires_at")
    if expires:
        # Found by `manage.py cleanup_restore_copies` once passed; deleted only with approval.
        tags["fleetwise-keep-until"] = expires
    return tags


# -- steps shared by both modes --------------------------------------------------------------


def check_source(context: StepContext) -> str:
    """The source is still restorable as asked (the window moves on while requests queue)."""
    source = _p(context, "source")
    if source == "point_in_time":
        database = sql.database_get(_p(context, "source_database_id"))
        moment = datetime.fromisoformat(_p(context, "point_in_time"))
        if database.earliest_restore_date is None or moment < database.earliest_restore_date:
            raise StepFailedError(
                f"The restore window has moved past {moment:%Y-%m-%d %H:%M:%S} UTC since the "
                f"request (earliest now {database.earliest_restore_date}).",
                code="RestoreWindowMoved",
            )
        message = f"{database.name} can be restored to {moment:%Y-%m-%d %H:%M:%S} UTC."
    elif source == "long_term_backup":
        backup_id = _p(context, "long_term_retention_backup_id")
        backups = sql.long_term_retention_backups(_p(context, "database_id"))
        if not any(b.id.lower() == backup_id.lower() for b in backups):
            raise StepFailedError("The long-term backup no longer exists.", code="LtrBackupGone")
        message = "The long-term backup is available."
    else:
        dropped_id = _p(context, "restorable_dropped_database_id")
        dropped = sql.restorable_dropped_databases(_server_id(_p(context, "database_id")))
        if not any(d.id.lower() == dropped_id.lower() for d in dropped):
            raise StepFailedError(
                "The deleted database can no longer be restored.", code="DroppedDatabaseGone"
            )
        message = "The deleted database can be restored."
    if context.operation.kind == IN_PLACE:
        live = sql.database_get(_p(context, "database_id"))
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


def restore_copy(context: StepContext) -> str:
    """Begin the restore into the target name (unless it exists) and wait until it is done."""
    target_id = _p(context, "target_id")
    target_name = _p(context, "target_name")
    server_id = _p(context, "server_id")
    if not context.get("restore_begun"):
        if sql.database_find(server_id, target_name) is None:
            token = sql.database_restore_begin(
                target_id=target_id,
                location=_p(context, "location"),
                create_mode=_p(context, "create_mode"),
                source_database_id=_p(context, "source_database_id"),
                restore_point_in_time=_iso(_p(context, "point_in_time")),
                long_term_retention_backup_id=_p(context, "long_term_retention_backup_id"),
                restorable_dropped_database_id=_p(context, "restorable_dropped_database_id"),
                elastic_pool_id=_p(context, "elastic_pool_id"),
                # Azure restores neither tags nor a database-level key: both are passed.
                tags=_copy_tags(context),
                identity_ids=context.operation.parameters.get("identity_ids") or (),
                key_uris=context.operation.parameters.get("key_uris") or (),
                encryption_protector=context.operation.parameters.get("encryption_protector"),
            )
            context.save(restore_begun=True, restore_token=token)
        else:
            # Begun by an earlier run that died before recording it: never begin twice.
            context.save(restore_begun=True, restore_token=None)
    started = time.monotonic()
    token = context.get("restore_token")
    while True:
        if context.cancel_requested():
            raise CancelledError
        if token:
            outcome = sql.database_restore_wait(
                target_id=target_id, continuation_token=token, timeout_seconds=wait_slice()
            )
            if outcome.done:
                if not outcome.succeeded:
                    context.save(failure_outcome=f"{UNTOUCHED} Azure removes the failed copy.")
                    raise StepFailedError(outcome.error_message, code=outcome.error_code)
                break
        else:
            copy = sql.database_find(server_id, target_name)
            if copy is None:
                raise StepFailedError(
                    f"The restore into {target_name} disappeared.", code="RestoreVanished"
                )
            if copy.status == "Online":
                break
            time.sleep(min(wait_slice(), 2.0))
        context.heartbeat(
            f"Restoring into {target_name}… {time.monotonic() - started:.0f} s so far."
        )
    return f"{target_name} restored."


def verify_copy(context: StepContext) -> str:
    copy = sql.database_get(_p(context, "target_id"))
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
    protector = context.operation.parameters.get("encryption_protector")
    if not protector:
        return "The tenant uses the server's TDE key; nothing to check."
    copy = sql.database_get(_p(context, "target_id"))
    wanted = set(context.operation.parameters.get("identity_ids") or ())
    problems = []
    if (copy.encryption_protector or "").lower() != protector.lower():
        problems.append(f"its protector is {copy.encryption_protector or 'the server key'}")
    if not wanted <= set(copy.identity_ids):
        problems.append("it lacks the tenant's identity")
    if problems:
        context.save(
            failure_outcome=f"{UNTOUCHED} The copy {copy.name} came back without the tenant's "
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
    copy = sql.database_find(_p(context, "server_id"), _p(context, "target_name"))
    if copy is None:
        return UNTOUCHED
    if copy.status == "Online" and context.operation.kind == PARALLEL:
        return f"{UNTOUCHED} The restored copy {copy.name} had finished and was kept."
    sql.database_delete_begin(copy.id)
    return f"{UNTOUCHED} The restore was stopped and the partial copy {copy.name} is being deleted."


def _geo_servers(context: StepContext) -> list[str] | None:
    """The catalogue's paired-region server if known (one GET), else every server is asked."""
    geo = context.operation.parameters.get("geo_server_id")
    return [geo] if geo else None


def _iso(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


# -- the in-place swap ----------------------------------------------------------------------


def stop_app(context: StepContext) -> str:
    web.site_stop(_p(context, "site_id"))
    return "App stopped: downtime starts."


def start_app_again(context: StepContext) -> str:
    web.site_start(_p(context, "site_id"))
    return "App started again."


def rename_live_aside(context: StepContext) -> str:
    server_id = _p(context, "server_id")
    pre_name = _p(context, "pre_restore_name")
    if sql.database_find(server_id, pre_name) is not None:
        return f"Live database already renamed to {pre_name}."
    sql.database_rename(_p(context, "database_id"), pre_name)
    context.save(
        rolled_back_outcome=f"the tenant is back on its original database "
        f"{context.tenant.database_name}; the restored copy {_p(context, 'target_name')} was kept."
    )
    return f"Live database renamed to {pre_name}."


def rename_live_back(context: StepContext) -> str:
    server_id = _p(context, "server_id")
    live_name = context.tenant.database_name
    pre = sql.database_find(server_id, _p(context, "pre_restore_name"))
    if pre is None:
        return "Original database already has its name."
    sql.database_rename(pre.id, live_name)
    return f"Original database renamed back to {live_name}."


def rename_copy_live(context: StepContext) -> str:
    server_id = _p(context, "server_id")
    live_name = context.tenant.database_name
    if sql.database_find(server_id, _p(context, "target_name")) is None and sql.database_find(
        server_id, live_name
    ):
        return f"Restored copy already renamed to {live_name}."
    sql.database_rename(_p(context, "target_id"), live_name)
    return f"Restored copy renamed to {live_name}: the tenant now uses the restored data."


def rename_copy_back(context: StepContext) -> str:
    server_id = _p(context, "server_id")
    current = sql.database_find(server_id, context.tenant.database_name)
    if current is None or current.tags.get("fleetwise-operation") != str(context.operation.pk):
        return "Restored copy already has its own name."
    sql.database_rename(current.id, _p(context, "target_name"))
    return f"Restored copy renamed back to {_p(context, 'target_name')}."


def reapply_settings(context: StepContext) -> str:
    live_id = _p(context, "database_id")
    saved = context.get("live_settings", {})
    tags = {**saved.get("tags", {}), "fleetwise-restored-by-operation": str(context.operation.pk)}
    sql.database_tags_set(live_id, tags)
    if saved.get("ltr_policy"):
        sql.ltr_policy_set(live_id, sql.LtrPolicy(**saved["ltr_policy"]))
    if saved.get("auditing"):
        auditing = dict(saved["auditing"])
        auditing["audit_actions_and_groups"] = tuple(auditing.get("audit_actions_and_groups", ()))
        sql.database_auditing_set(live_id, sql.AuditingPolicy(**auditing))
    pre_id = _p(context, "pre_restore_id")
    sql.database_tags_set(
        pre_id,
        {
            **saved.get("tags", {}),
            **_tags(context, "pre-restore"),
            "fleetwise-keep-until": _p(context, "pre_restore_expires_at"),
        },
    )
    return "Tags, long-term retention and auditing re-applied to the restored database."


def start_app(context: StepContext) -> str:
    web.site_start(_p(context, "site_id"))
    return "App started: downtime ends."


def stop_app_again(context: StepContext) -> str:
    web.site_stop(_p(context, "site_id"))
    return "App stopped again for the roll-back."


def verify_tenant(context: StepContext) -> str:
    """The app runs and the (restored) live database is online, within a grace period."""
    deadline = time.monotonic() + VERIFY_SECONDS
    while True:
        site = web.site_get(_p(context, "site_id"))
        try:
            database = sql.database_get(_p(context, "database_id"))
            status = database.status
        except AzureNotFoundError:
            status = "missing"
        if site.state == "Running" and status == "Online":
            return "App running and database online."
        if time.monotonic() > deadline:
            raise StepFailedError(
                f"After the swap the app reports {site.state} and the database {status}.",
                code="TenantUnhealthy",
            )
        context.heartbeat("Waiting for the app and database to report healthy…")
        time.sleep(2.0)


# -- kinds ----------------------------------------------------------------------------------


def _parallel_plan(operation: Operation) -> list[Step]:
    return [
        Step("check", "Check the source and the restore window", check_source),
        Step("restore", f"Restore into {operation.parameters['target_name']}", restore_copy),
        Step("verify", "Check the restored copy is online", verify_copy),
        Step("verify_key", "Check the restored copy kept the tenant's key", verify_key),
    ]


def _in_place_plan(operation: Operation) -> list[Step]:
    p = operation.parameters
    live = parse(p["database_id"]).name
    return [
        Step("check", "Check the source, the window and geo-replication", check_source),
        Step("restore", f"Restore beside the live database into {p['target_name']}", restore_copy),
        Step("verify_copy", "Check the restored copy is online", verify_copy),
        Step("verify_key", "Check the restored copy kept the tenant's key", verify_key),
        Step(
            "stop_app", "Stop the tenant's app", stop_app, undo=start_app_again, cancellable=False
        ),
        Step(
            "rename_live",
            f"Rename {live} to {p['pre_restore_name']}",
            rename_live_aside,
            undo=rename_live_back,
            cancellable=False,
        ),
        Step(
            "rename_copy",
            f"Rename {p['target_name']} to {live}",
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
    database = sql.database_find(_p(context, "server_id"), _p(context, "database_name"))
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
    keep_until = tags.get("fleetwise-keep-until", "")
    if not keep_until or datetime.fromisoformat(keep_until) > context.operation.created_at:
        raise StepFailedError(
            f"{database.name} is kept until {keep_until or 'further notice'}.", code="StillKept"
        )
    return f"{database.name} ({tags['fleetwise-role']}) expired on {keep_until}."


def delete_copy(context: StepContext) -> str:
    database = sql.database_find(_p(context, "server_id"), _p(context, "database_name"))
    if database is None:
        return "Deleted."
    token = sql.database_delete_begin(database.id)
    while True:
        outcome = sql.database_delete_wait(
            database_id=database.id, continuation_token=token, timeout_seconds=wait_slice()
        )
        if outcome.done:
            if not outcome.succeeded:
                raise StepFailedError(outcome.error_message, code=outcome.error_code)
            return f"{database.name} deleted (restorable as a deleted database for its retention period)."
        context.heartbeat(f"Deleting {database.name}…")


def _cleanup_plan(operation: Operation) -> list[Step]:
    name = operation.parameters["database_name"]
    return [
        Step("check", f"Check {name} is an expired restore copy of this tenant", check_disposable),
        Step("delete", f"Delete {name}", delete_copy, cancellable=False),
    ]


def admit_restore(operation: Operation) -> str | None:
    """Queue restores so no more run at once per pool and per subscription than Azure takes."""
    running = Operation.objects.filter(kind__in=RESTORE_KINDS, state=Operation.State.RUNNING)
    pool = operation.parameters.get("elastic_pool_id") or ""
    if (
        pool
        and running.filter(parameters__elastic_pool_id=pool).count()
        >= settings.RESTORE_MAX_PER_POOL
    ):
        return f"{settings.RESTORE_MAX_PER_POOL} restores are already running in this elastic pool."
    subscription = operation.parameters.get("subscription_id") or ""
    if (
        running.filter(parameters__subscription_id=subscription).count()
        >= settings.RESTORE_MAX_PER_SUBSCRIPTION
    ):
        return f"{settings.RESTORE_MAX_PER_SUBSCRIPTION} restores are already running in this subscription."
    return None


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
                admit=admit_restore,
                cancel_running=cancel_restore,
                untouched_outcome=UNTOUCHED,
            )
        )
    register(
        OperationKind(
            name=CLEANUP,
            label="Delete an expired restore copy",
            permission=APPROVE_OPERATION,
            # Deleting data is never one person's decision.
            needs_approval=lambda: True,
            plan=_cleanup_plan,
            untouched_outcome="Nothing was deleted.",
        )
    )

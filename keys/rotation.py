"""Key rotation as operations: one tenant's database-level key, or a server's protector (which
covers every tenant on the server), and a fleet batch whose children are those rotations.

Steps: pre-checks → new key version in Key Vault → make it available (server key on the geo
server first, then the primary; or the database's key list, each geo-secondary's first) →
switch the protector → verify.
Older versions are never disabled here: backups may need them (keys/rules.py). A failure before
the switch completes leaves the previous protector in place, and the operation says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings

from keys.inventory import key_inventory_collect
from operations.context import StepContext, StepFailedError, lro_settled
from operations.fleet import ChildRequest, children_supervise
from operations.kinds import OperationKind, Step, StepResult, Subject, register
from operations.models import Operation
from portal.azure import keyvault, sql, tde
from portal.azure.errors import AzureOperationError
from portal.azure.lro import LroOutcome
from portal.roles import ROTATE_KEY
from tenants.models import Tenant

ROTATE = "key_rotate"
ROTATE_FLEET = "key_rotate_fleet"
DATABASE_LEVEL = "database"
SERVER_LEVEL = "server"


@dataclass(frozen=True)
class KeyRotationParameters:
    """`level` "database": `database_id` has its own key; "server": the protector of `server_id`,
    shared by `tenant_slugs` (locked with the server)."""

    level: str
    key_id: str
    server_id: str
    database_id: str = ""
    geo_server_id: str = ""
    tenant_slugs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.level not in (DATABASE_LEVEL, SERVER_LEVEL):
            raise ValueError(f"level must be database or server, not {self.level!r}")
        if self.level == DATABASE_LEVEL and not self.database_id:
            raise ValueError("a database-level rotation needs the database")
        # JSON brings tuples back as lists.
        object.__setattr__(self, "tenant_slugs", tuple(self.tenant_slugs))


@dataclass(frozen=True)
class FleetRotationParameters:
    rotations: tuple[dict[str, object], ...]
    subjects: tuple[tuple[str, str, str], ...]
    max_running: int = 4

    def __post_init__(self) -> None:
        object.__setattr__(self, "rotations", tuple(self.rotations))
        object.__setattr__(self, "subjects", tuple(tuple(s) for s in self.subjects))


def _version(kid: str | None) -> str:
    return (kid or "").rstrip("/").rsplit("/", 1)[-1] or "(none)"


# -- steps -------------------------------------------------------------------------------------------


def _current_protector(p: KeyRotationParameters) -> str | None:
    if p.level == DATABASE_LEVEL:
        return sql.database_get(p.database_id).encryption_protector
    protector = sql.encryption_protector(p.server_id)
    return protector.uri if protector.server_key_type == "AzureKeyVault" else None


def check(context: StepContext) -> StepResult:
    p = context.parameters(KeyRotationParameters)
    context.outcome_if_failed("Nothing was changed: the protector in use stays as it was.")
    protection = tde.vault_protection(p.key_id)
    if not (protection.soft_delete and protection.purge_protection):
        raise StepFailedError(
            f"The key's vault must have soft-delete and purge protection on (its recovery level "
            f"is {protection.recovery_level or 'unknown'}).",
            code="VaultNotProtected",
        )
    current = context.get("previous_kid") or _current_protector(p)
    if current is None:
        raise StepFailedError(
            "This key is not the protector here: "
            + (
                "the database has no database-level key (its server's protector covers it; "
                "rotate the server's key)."
                if p.level == DATABASE_LEVEL
                else "the server's protector is service-managed."
            ),
            code="NotCustomerManaged",
        )
    _, name = keyvault.key_reference(current)
    if name.lower() != keyvault.key_reference(p.key_id)[1].lower():
        raise StepFailedError(
            f"The protector in use is key {name}, not the catalogue's key.", code="KeyMismatch"
        )
    if p.level == DATABASE_LEVEL and sql.database_get(p.database_id).status != "Online":
        raise StepFailedError("The database is not online.", code="DatabaseNotOnline")
    context.save(previous_kid=current)
    covers = ", ".join(p.tenant_slugs) or "one tenant"
    return (
        f"Vault protected; protector in use is version {_version(current)}; covers {covers}; "
        + _geo_secondaries_found(context, p)
    )


def _geo_secondaries_found(context: StepContext, p: KeyRotationParameters) -> str:
    """Find (once) the geo-secondaries that must hold the new version before the switch."""
    if p.level == SERVER_LEVEL:
        return f"geo server: {_name(p.geo_server_id) if p.geo_server_id else 'none'}."
    if context.get("geo_databases") is None:
        partners = sql.geo_replication_partners(
            p.database_id, partner_server_ids=[p.geo_server_id] if p.geo_server_id else None
        )
        context.save(geo_databases=partners)
    found = [_name(d, server=True) for d in context.get("geo_databases")]
    return f"geo-secondary: {', '.join(found) or 'none'}."


def _name(resource_id: str, *, server: bool = False) -> str:
    """`db` (or `server/db` with `server`) of a resource id, for messages."""
    parts = resource_id.rstrip("/").split("/")
    return f"{parts[-3]}/{parts[-1]}" if server and len(parts) >= 3 else parts[-1]


def new_version(context: StepContext) -> StepResult:
    p = context.parameters(KeyRotationParameters)
    if context.get("new_kid"):
        return f"Version {_version(context.get('new_kid'))} made earlier."
    previous = str(context.get("previous_kid"))
    started = context.operation.started_at
    latest = keyvault.key_versions(p.key_id)[-1]
    # A run killed after Key Vault made the version but before the checkpoint: reuse that one
    # rather than make a second.
    if (
        started is not None
        and latest.kid.lower() != previous.lower()
        and latest.created >= started.replace(microsecond=0)
    ):
        made = latest
    else:
        made = tde.key_rotate(p.key_id)
    context.save(new_kid=made.kid)
    context.outcome_if_failed(
        f"Key Vault has a new version {made.version}, unused; the protector is still version "
        f"{_version(previous)}."
    )
    return f"Created key version {made.version} in Key Vault."


def make_available(context: StepContext) -> StepResult:
    p = context.parameters(KeyRotationParameters)
    kid = str(context.get("new_kid"))
    if p.level == SERVER_LEVEL:
        # The geo server first: a geo-secondary must be able to open what the primary writes.
        for server_id in (p.geo_server_id, p.server_id):
            if server_id:
                tde.server_key_add(server_id, kid)
        return f"Version {_version(kid)} is a server key" + (
            " on the geo server and the primary." if p.geo_server_id else "."
        )
    # Each geo-secondary first: Azure refuses to switch a geo-primary's protector to a version a
    # secondary does not hold (docs/azure-behaviours.md).
    secondaries = [str(d) for d in context.get("geo_databases") or []]
    for secondary in secondaries:
        waiting = _database_key_add(context, secondary, kid, secondary=True)
        if waiting:
            return waiting
    waiting = _database_key_add(context, p.database_id, kid, secondary=False)
    if waiting:
        return waiting
    if secondaries:
        return (
            f"Version {_version(kid)} added to the keys of the geo-secondary "
            f"({', '.join(_name(d, server=True) for d in secondaries)}), then of the primary."
        )
    return f"Version {_version(kid)} added to the database's keys (no geo-secondary)."


def _database_key_add(
    context: StepContext, database_id: str, kid: str, *, secondary: bool
) -> StepResult | None:
    """Add `kid` to one database's keys (resumably: one request per database); a Wait while
    Azure works, None once it holds it. A refusal fails the step, saying the protector stayed."""
    previous = _version(context.get("previous_kid"))
    if secondary:
        context.outcome_if_failed(
            f"The geo-secondary {_name(database_id, server=True)} did not take the new version "
            f"{_version(kid)}, so the primary was not switched: its protector is still version "
            f"{previous}. The new version is in Key Vault, unused."
        )
    tokens = dict(context.get("keys_tokens") or {})
    try:
        if database_id.lower() not in tokens:
            tokens[database_id.lower()] = tde.database_key_add_begin(database_id, kid)
            context.save(keys_tokens=tokens)
        where = "the geo-secondary's" if secondary else "the database's"
        waiting = lro_settled(
            tde.database_update_wait(database_id, tokens[database_id.lower()], timeout_seconds=0),
            f"Adding the version to {where} keys…",
        )
    except AzureOperationError as error:
        raise StepFailedError(
            f"{_name(database_id, server=True)} refused the new version: {error.message}",
            code=error.code or "KeyNotAdded",
        ) from error
    if secondary and waiting is None:
        context.outcome_if_failed(
            f"Key Vault has a new version {_version(kid)}, unused; the protector is still "
            f"version {previous}."
        )
    return waiting


def _switch_begin(p: KeyRotationParameters, kid: str) -> str:
    if p.level == SERVER_LEVEL:
        return tde.server_protector_set_begin(p.server_id, kid)
    return tde.database_protector_set_begin(p.database_id, kid)


def _switch_wait(p: KeyRotationParameters, token: str) -> LroOutcome:
    if p.level == SERVER_LEVEL:
        return tde.server_protector_set_wait(p.server_id, token, timeout_seconds=0)
    return tde.database_update_wait(p.database_id, token, timeout_seconds=0)


def switch(context: StepContext) -> StepResult:
    p = context.parameters(KeyRotationParameters)
    kid, previous = str(context.get("new_kid")), str(context.get("previous_kid"))
    context.outcome_if_failed(
        f"The previous protector (version {_version(previous)}) is still in place; the new "
        f"version {_version(kid)} is in Key Vault and available, unused."
    )
    if not context.get("switch_token"):
        context.save(switch_token=_switch_begin(p, kid))
    waiting = lro_settled(
        _switch_wait(p, str(context.get("switch_token"))), "Switching the protector…"
    )
    context.outcome_if_rolled_back(
        f"The protector was switched back to the previous version {_version(previous)}."
    )
    return waiting or f"Protector switched to version {_version(kid)}."


def switch_back(context: StepContext) -> str:
    p = context.parameters(KeyRotationParameters)
    previous = str(context.get("previous_kid"))
    if (_current_protector(p) or "").lower() == previous.lower():
        return "The previous protector is in place."
    token = _switch_begin(p, previous)
    outcome = (
        tde.server_protector_set_wait(p.server_id, token, timeout_seconds=60)
        if p.level == SERVER_LEVEL
        else tde.database_update_wait(p.database_id, token, timeout_seconds=60)
    )
    if not outcome.succeeded:
        raise StepFailedError(f"Switching back failed: {outcome.error_message}")
    return f"Switched back to version {_version(previous)}."


def verify(context: StepContext) -> StepResult:
    p = context.parameters(KeyRotationParameters)
    kid = str(context.get("new_kid"))
    try:
        if p.level == SERVER_LEVEL:
            tde.server_protector_revalidate(p.server_id)
        else:
            tde.database_protector_revalidate(p.database_id)
    except AzureOperationError as error:
        raise StepFailedError(
            f"Azure cannot use the new version: {error.message}", code=error.code
        ) from error
    if (_current_protector(p) or "").lower() != kid.lower():
        raise StepFailedError("The protector is not the new version.", code="ProtectorMismatch")
    databases = [p.database_id] if p.database_id else []
    if p.level == SERVER_LEVEL:
        databases = [d.id for d in sql.databases_list(p.server_id)]
    offline = [d for d in (sql.database_get(i) for i in databases) if d.status != "Online"]
    if offline:
        raise StepFailedError(
            "Not online after the switch: " + ", ".join(d.name for d in offline),
            code="DatabaseNotOnline",
        )
    context.save(verified_at=datetime.now().astimezone().isoformat())
    # The tenant pages show the new version at once.
    for tenant in Tenant.objects.filter(slug__in=p.tenant_slugs):
        key_inventory_collect(tenant)
    return (
        f"Protector is version {_version(kid)}; {len(databases)} database(s) online; previous "
        f"version {_version(context.get('previous_kid'))} kept enabled for backups."
    )


def rotation_plan(operation: Operation) -> list[Step]:
    return [
        Step("check", "Pre-checks: vault protection, protector in use", check),
        Step("version", "Create a new key version in Key Vault", new_version),
        Step(
            "available",
            "Make the version available (server key / database keys, geo copies first)",
            make_available,
        ),
        Step("switch", "Switch the protector", switch, undo=switch_back, cancellable=False),
        Step("verify", "Verify the protector and that databases are online", verify),
    ]


# -- fleet -------------------------------------------------------------------------------------------


def supervise(context: StepContext) -> StepResult:
    p = context.parameters(FleetRotationParameters)
    children = []
    for rotation, (subject_type, subject_id, label) in zip(p.rotations, p.subjects, strict=True):
        parameters = KeyRotationParameters(**rotation)  # type: ignore[arg-type]
        tenant = (
            Tenant.objects.filter(slug=subject_id).first()
            if subject_type == Operation.Subject.TENANT
            else None
        )
        children.append(
            ChildRequest(
                kind=ROTATE,
                subject=Subject(subject_type, subject_id, label),
                parameters=parameters,
                tenant=tenant,
            )
        )
    return children_supervise(context, children=children, max_running=p.max_running)


def _server_lock(parameters: KeyRotationParameters) -> list[str]:
    if parameters.level != SERVER_LEVEL:
        return []
    # The subject (the server) is locked already; its tenants are locked too, so that no
    # database-level change of theirs runs while their protector changes.
    return [f"{Operation.Subject.TENANT}:{slug.lower()}" for slug in parameters.tenant_slugs]


def register_kinds() -> None:
    register(
        OperationKind(
            name=ROTATE,
            label="Rotate a TDE key",
            permission=ROTATE_KEY,
            needs_approval=lambda: bool(settings.KEY_ROTATION_NEEDS_APPROVAL),
            plan=rotation_plan,
            parameters=KeyRotationParameters,
            extra_locks=_server_lock,
            untouched_outcome="Nothing was changed: the protector in use stays as it was.",
        )
    )
    register(
        OperationKind(
            name=ROTATE_FLEET,
            label="Rotate TDE keys of many tenants",
            permission=ROTATE_KEY,
            needs_approval=lambda: bool(settings.KEY_ROTATION_NEEDS_APPROVAL),
            plan=lambda operation: [Step("rotate", "Rotate each key", supervise)],
            parameters=FleetRotationParameters,
            pausable=True,
            untouched_outcome="No key was rotated.",
        )
    )

"""Requesting key rotations (one tenant, one server, or a fleet batch). The operations engine
runs them (keys/rotation.py); these functions decide what is rotated and lock it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict
from datetime import datetime

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from keys.inventory import key_inventory_collect
from keys.rotation import (
    DATABASE_LEVEL,
    ROTATE,
    ROTATE_FLEET,
    SERVER_LEVEL,
    FleetRotationParameters,
    KeyRotationParameters,
)
from keys.rules import BackupNeed, retirement_refusal
from operations.kinds import Subject
from operations.models import Operation
from operations.services import OperationRefusedError, operation_request
from portal.audit import audit_record
from portal.azure import sql, tde
from portal.models import AuditEvent
from portal.roles import ROTATE_KEY
from tenants.models import Tenant
from tenants.selectors import active_copy, tenants_on_server


def key_level(tenant: Tenant) -> str:
    """Where the tenant's key protects it, as Azure says now: its own database-level key, or
    its server's protector, on the copy it runs on now. Refuses a service-managed key."""
    active = active_copy(tenant)
    if sql.database_get(active.database_id).encryption_protector:
        return DATABASE_LEVEL
    if sql.encryption_protector(active.sql_server_id).server_key_type == "AzureKeyVault":
        return SERVER_LEVEL
    raise OperationRefusedError(
        f"{tenant.display_name} has a service-managed TDE key: there is no key of ours to rotate."
    )


def _server_tenants(server_id: str) -> list[Tenant]:
    return list(tenants_on_server(server_id).order_by("slug"))


def _partner_server_id(tenant: Tenant) -> str:
    """The server a new key version must also reach: the paired server at home (geo
    secondaries, geo-restores); the home server while away (the copy goes back there)."""
    if tenant.active.at_home:
        return tenant.geo_sql_server_id or ""
    return tenant.sql_server_id


def rotation_for(
    tenant: Tenant, level: str
) -> tuple[Subject, KeyRotationParameters, Tenant | None]:
    """The subject, parameters and tenant (for a database-level rotation) of rotating
    `tenant`'s key at `level`."""
    if not tenant.key_vault_key_id:
        raise OperationRefusedError(f"{tenant.display_name} has no Key Vault key in the catalogue.")
    active = active_copy(tenant)
    if level == DATABASE_LEVEL:
        parameters = KeyRotationParameters(
            level=DATABASE_LEVEL,
            key_id=tenant.key_vault_key_id,
            server_id=active.sql_server_id,
            database_id=active.database_id,
            geo_server_id=_partner_server_id(tenant),
            tenant_slugs=(tenant.slug,),
        )
        return (
            Subject(Operation.Subject.TENANT, tenant.slug, tenant.display_name),
            parameters,
            tenant,
        )
    covered = _server_tenants(active.sql_server_id)
    parameters = KeyRotationParameters(
        level=SERVER_LEVEL,
        key_id=tenant.key_vault_key_id,
        server_id=active.sql_server_id,
        geo_server_id=_partner_server_id(tenant),
        tenant_slugs=tuple(t.slug for t in covered),
    )
    server_name = active.server_name
    label = f"{server_name} (server key: {', '.join(parameters.tenant_slugs)})"
    return Subject(Operation.Subject.SQL_SERVER, active.sql_server_id, label), parameters, None


def key_rotation_request(
    *, tenant: Tenant, requested_by: User, reason: str, level: str | None = None, ticket: str = ""
) -> Operation:
    """Request rotating the key that protects `tenant` (its level read from Azure unless
    given). A server-level rotation locks the server and every tenant on it."""
    subject, parameters, subject_tenant = rotation_for(tenant, level or key_level(tenant))
    return operation_request(
        kind=ROTATE,
        subject=subject,
        tenant=subject_tenant,
        parameters=parameters,
        requested_by=requested_by,
        reason=reason,
        ticket=ticket,
    )


def key_rotation_fleet_request(
    *,
    tenants: Iterable[Tenant],
    requested_by: User,
    reason: str,
    max_running: int | None = None,
) -> Operation:
    """One operation whose children rotate each tenant's key (a server's key once for all its
    tenants); one approval covers the batch. Tenants with service-managed keys are skipped."""
    rotations: dict[str, tuple[Subject, KeyRotationParameters]] = {}
    for tenant in tenants:
        # Read from Azure now, so the batch is fixed when it is approved.
        try:
            level = key_level(tenant)
        except OperationRefusedError:
            continue
        subject, parameters, _ = rotation_for(tenant, level)
        rotations.setdefault(subject.lock_key, (subject, parameters))
    if not rotations:
        raise OperationRefusedError("None of these tenants has a customer-managed key to rotate.")
    batch = FleetRotationParameters(
        rotations=tuple(asdict(p) for _, p in rotations.values()),
        subjects=tuple((s.type, s.id, s.label) for s, _ in rotations.values()),
        max_running=max_running or settings.KEY_ROTATION_BATCH_CONCURRENCY,
    )
    return operation_request(
        kind=ROTATE_FLEET,
        subject=Subject(Operation.Subject.FLEET, "fleet", f"Key rotation of {len(rotations)} keys"),
        parameters=batch,
        requested_by=requested_by,
        reason=reason,
    )


def key_version_disable(*, tenant: Tenant, kid: str, by: User) -> None:
    """Disable an older version of the tenant's key, unless a backup may still need it (then
    refused, saying until when, and nothing changes). Reads the inventory from Azure first."""
    if not by.has_perm(ROTATE_KEY):
        raise OperationRefusedError("You do not have permission to change key versions.")
    inventory = key_inventory_collect(tenant)
    if inventory.error:
        raise OperationRefusedError(f"The key could not be read: {inventory.error}")
    version = next((v for v in inventory.versions if str(v["kid"]).lower() == kid.lower()), None)
    if version is None:
        raise OperationRefusedError("That is not a version of this tenant's key.")
    uses = backup_need_of(version)
    refusal = retirement_refusal(uses, action="disable", now=timezone.now())
    if refusal:
        audit_record(
            action="key.version_disable",
            actor=by,
            tenant=tenant.slug,
            outcome=AuditEvent.Outcome.DENIED,
            details={"kid": kid, "reason": refusal},
        )
        raise OperationRefusedError(refusal)
    with transaction.atomic():
        tde.key_version_enabled_set(kid, enabled=False)
        audit_record(
            action="key.version_disable", actor=by, tenant=tenant.slug, details={"kid": kid}
        )


def backup_need_of(version: dict[str, object]) -> BackupNeed:
    """The stored inventory entry of a version, as the rule's BackupNeed."""
    until = version.get("needed_until")
    return BackupNeed(
        kid=str(version["kid"]),
        in_use=bool(version.get("in_use")),
        needed_until=datetime.fromisoformat(str(until)) if until else None,
        reasons=tuple(str(r) for r in version.get("reasons") or []),  # type: ignore[attr-defined]
    )

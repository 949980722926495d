"""The catalogue's write path: every change is saved and audited here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record
from tenants.models import AZURE_RESOURCE_FIELDS, ActiveCopy, Tenant

CATALOGUE_FIELDS = ("display_name", "status", "region", "tags", "dr_tier", *AZURE_RESOURCE_FIELDS)


def tenant_save(
    *, tenant: Tenant, actor: AbstractBaseUser | AnonymousUser | None, changed: Iterable[str] = ()
) -> Tenant:
    """Validate and save a catalogue entry (new or edited) and record who changed what."""
    creating = tenant._state.adding
    tenant.full_clean()
    with transaction.atomic():
        tenant.save()
        audit_record(
            action="tenant.create" if creating else "tenant.update",
            actor=actor,
            tenant=tenant.slug,
            details={"changed": sorted(changed)},
        )
    return tenant


def tenant_pool_record(*, tenant: Tenant, elastic_pool_id: str, by: str) -> Tenant:
    """Record the pool the tenant's database now lives in after an operation moved it, so
    restores, scaling and pages act on the database where it is. `by` names the operation in
    the audit event."""
    # Away from home the move was of the active copy: its pool is what changed.
    field = "elastic_pool_id" if tenant.active.at_home else "active_elastic_pool_id"
    before = getattr(tenant, field)
    if before.lower() == elastic_pool_id.lower():
        return tenant
    setattr(tenant, field, elastic_pool_id)
    tenant.full_clean()
    with transaction.atomic():
        tenant.save(update_fields=[field, "updated_at"])
        audit_record(
            action="tenant.update",
            actor=None,
            actor_name=by,
            tenant=tenant.slug,
            details={"changed": [field], "from": before, "to": elastic_pool_id},
        )
    return tenant


def tenant_delete(*, tenant: Tenant, actor: AbstractBaseUser | AnonymousUser | None) -> None:
    """Remove a catalogue entry (Azure resources are untouched)."""
    with transaction.atomic():
        slug = tenant.slug
        tenant.delete()
        audit_record(action="tenant.delete", actor=actor, tenant=slug, details={})


def tenant_import(
    *,
    entries: Iterable[Mapping[str, Any]],
    actor: AbstractBaseUser | AnonymousUser | None,
    account_managers: Mapping[str, Any] | None = None,
) -> tuple[int, int]:
    """Create or update catalogue entries from records keyed like the model's fields.

    Returns (created, updated). Every entry is validated; one bad entry stops the import
    before anything is written.
    """
    prepared: list[tuple[Tenant, list[str]]] = []
    for entry in entries:
        tenant = Tenant.objects.filter(slug=entry["slug"]).first() or Tenant(slug=entry["slug"])
        changed = [f for f in CATALOGUE_FIELDS if f in entry and getattr(tenant, f) != entry[f]]
        for field in changed:
            setattr(tenant, field, entry[field])
        manager = (account_managers or {}).get(tenant.slug)
        if manager is not None and tenant.account_manager_id != manager.pk:
            tenant.account_manager = manager
            changed.append("account_manager")
        tenant.full_clean()
        prepared.append((tenant, changed))
    created = updated = 0
    with transaction.atomic():
        for tenant, changed in prepared:
            if tenant._state.adding:
                created += 1
            elif changed:
                updated += 1
            else:
                continue
            tenant_save(tenant=tenant, actor=actor, changed=changed)
    return created, updated


def tenant_active_copy_set(
    *,
    tenant: Tenant,
    copy: ActiveCopy | None,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    actor_name: str = "",
    operation_id: int | None = None,
) -> Tenant:
    """Record where the tenant runs now: `copy` after a failover, None once back home.

    Called by the DR steps that moved it (inside or outside their transaction); the audit event
    names both places so the trail shows every move."""
    before = tenant.active
    values = (
        {
            "active_region": copy.region,
            "active_sql_server_id": copy.sql_server_id,
            "active_database_id": copy.database_id,
            "active_elastic_pool_id": copy.elastic_pool_id,
            "active_site_id": copy.site_id,
            "active_since": timezone.now(),
        }
        if copy is not None and not copy.at_home
        else dict.fromkeys(
            (
                "active_region",
                "active_sql_server_id",
                "active_database_id",
                "active_elastic_pool_id",
                "active_site_id",
            ),
            "",
        )
        | {"active_since": None}
    )
    with transaction.atomic():
        Tenant.objects.filter(pk=tenant.pk).update(**values)
        tenant.refresh_from_db()
        after = tenant.active
        audit_record(
            action="tenant.relocated",
            actor=actor,
            actor_name=actor_name,
            tenant=tenant.slug,
            details={
                "from": {"region": before.region, "database": before.database_id},
                "to": {"region": after.region, "database": after.database_id},
                "site": after.site_id,
                **({"operation": operation_id} if operation_id else {}),
            },
        )
    return tenant

"""The catalogue's write path: every change is saved and audited here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction

from portal.audit import audit_record
from tenants.models import AZURE_RESOURCE_FIELDS, Tenant

CATALOGUE_FIELDS = ("display_name", "status", "region", "tags", *AZURE_RESOURCE_FIELDS)


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

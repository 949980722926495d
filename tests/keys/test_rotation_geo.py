"""Database-level rotation and geo-replication, through the SDKs against the emulator: a
geo-secondary gets the new key version before the primary's protector switches (Azure refuses
the switch otherwise), a tenant without one is rotated as before, and a secondary that refuses
the version leaves the primary's protector untouched, the operation saying so."""

from __future__ import annotations

from typing import Any

import pytest

from keys.rotation import DATABASE_LEVEL
from keys.services import key_rotation_request
from operations.models import Operation
from portal.azure import sql, tde
from portal.azure.errors import AzureOperationError
from tenants.models import Tenant
from tests.drive import approve, drive
from tests.request_log import request_marker, requests_since

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _tenant(large_fleet: list[dict[str, Any]], *, geo: bool) -> tuple[Tenant, str | None]:
    entry = next(
        t
        for t in large_fleet
        if t.get("key_level") == DATABASE_LEVEL
        and "service_managed_tde" not in t["seeded_issues"]
        and bool(t.get("geo_secondary_database_id")) is geo
    )
    return Tenant.objects.get(slug=entry["slug"]), entry.get("geo_secondary_database_id")


def _patches(requests: list[dict[str, Any]], database_id: str) -> int:
    return next(
        i
        for i, r in enumerate(requests)
        if r["method"] == "PATCH" and r["path"].lower().startswith(database_id.lower())
    )


def test_azure_refuses_a_geo_primarys_switch_to_a_version_its_secondary_lacks(large_fleet):
    tenant, secondary = _tenant(large_fleet, geo=True)
    assert secondary is not None
    before = sql.database_get(tenant.database_id).encryption_protector
    made = tde.key_rotate(tenant.key_vault_key_id)

    with pytest.raises(AzureOperationError) as refused:
        tde.database_protector_set_begin(tenant.database_id, made.kid)

    assert refused.value.code == "SameKeyMaterialNotFoundOnRemoteServer"
    assert secondary.rsplit("/", 1)[-1] in refused.value.message
    primary = sql.database_get(tenant.database_id)
    assert primary.encryption_protector == before
    assert made.kid.lower() not in tde.database_keys_held(tenant.database_id)


def test_a_rotation_gives_the_geo_secondary_the_new_version_before_the_primary_switches(
    large_fleet, large_emulator, admin_user, second_admin
):
    tenant, secondary = _tenant(large_fleet, geo=True)
    assert secondary is not None
    operation = key_rotation_request(tenant=tenant, requested_by=admin_user, reason="yearly")
    approve(operation, second_admin)
    marker = request_marker(large_emulator)
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.outcome
    new = operation.checkpoint["new_kid"]
    assert sql.database_get(tenant.database_id).encryption_protector == new
    assert new.lower() in tde.database_keys_held(secondary)
    assert [d.lower() for d in operation.checkpoint["geo_databases"]] == [secondary.lower()]
    requests = requests_since(large_emulator, marker)
    assert _patches(requests, secondary) < _patches(requests, tenant.database_id)
    assert "geo-secondary" in operation.steps.get(key="available").message


def test_a_tenant_without_a_geo_secondary_is_rotated_on_its_own_database(
    large_fleet, large_emulator, admin_user, second_admin
):
    tenant, _ = _tenant(large_fleet, geo=False)
    operation = key_rotation_request(tenant=tenant, requested_by=admin_user, reason="yearly")
    approve(operation, second_admin)
    marker = request_marker(large_emulator)
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.outcome
    assert operation.checkpoint["geo_databases"] == []
    assert "no geo-secondary" in operation.steps.get(key="available").message
    patched = {
        r["path"].lower().split("?")[0]
        for r in requests_since(large_emulator, marker)
        if r["method"] == "PATCH"
    }
    assert patched == {tenant.database_id.lower()}


def test_a_secondary_refusing_the_version_leaves_the_primarys_protector_and_says_so(
    large_fleet, large_emulator, admin_user, second_admin
):
    tenant, secondary = _tenant(large_fleet, geo=True)
    assert secondary is not None
    previous = sql.database_get(tenant.database_id).encryption_protector
    assert previous is not None
    operation = key_rotation_request(tenant=tenant, requested_by=admin_user, reason="yearly")
    approve(operation, second_admin)
    # The first database PATCH of the run is the secondary's key add.
    large_emulator.control(
        "POST",
        "faults/fail-next",
        {
            "operation": "databases.update",
            "status": 400,
            "code": "AzureKeyVaultMissingPermissions",
            "message": "The server requires Get, WrapKey, UnwrapKey on the key.",
        },
    )
    drive(operation)

    assert operation.state == Operation.State.FAILED
    new = operation.checkpoint["new_kid"]
    primary = sql.database_get(tenant.database_id)
    assert primary.encryption_protector == previous
    assert new.lower() not in tde.database_keys_held(tenant.database_id)
    assert "geo-secondary" in operation.outcome
    assert previous.rsplit("/", 1)[-1] in operation.outcome
    assert operation.error_code == "AzureKeyVaultMissingPermissions"
    assert "refused the new version" in operation.error_message

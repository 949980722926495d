"""Key rotation operations end to end against the emulator, driven step by step in this process
(the engine's own worker tests cover Celery): database level, server level, approvals, a failure
between steps, a batch with one tenant failing, and the rotate_key command."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import call_command

from keys.models import KeyInventory
from keys.rotation import DATABASE_LEVEL, SERVER_LEVEL
from keys.services import key_rotation_fleet_request, key_rotation_request, key_version_disable
from operations.models import Operation
from operations.services import OperationRefusedError
from portal.azure import keyvault, sql
from portal.models import AuditEvent
from tenants.models import Tenant
from tests.drive import approve, drive

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _tenant(large_fleet: list[dict[str, Any]], level: str, index: int = 0) -> Tenant:
    seeded = [t for t in large_fleet if t.get("key_level") == level]
    return Tenant.objects.get(slug=seeded[index]["slug"])


def test_a_database_level_rotation_runs_after_a_second_admin_approves(
    large_fleet, admin_user, second_admin
):
    tenant = _tenant(large_fleet, DATABASE_LEVEL)
    previous = sql.database_get(tenant.database_id).encryption_protector

    operation = key_rotation_request(tenant=tenant, requested_by=admin_user, reason="yearly")
    assert operation.state == Operation.State.AWAITING_APPROVAL
    with pytest.raises(OperationRefusedError, match="cannot approve it"):
        approve(operation, admin_user)
    approve(operation, second_admin)
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.outcome
    new = operation.checkpoint["new_kid"]
    assert new != previous and operation.checkpoint["previous_kid"] == previous
    assert sql.database_get(tenant.database_id).encryption_protector == new
    versions = {v.kid: v for v in keyvault.key_versions(tenant.key_vault_key_id)}
    assert versions[previous].enabled  # kept for the backups taken under it
    inventory = KeyInventory.objects.get(tenant=tenant)  # collected by the verify step
    assert inventory.kid_in_use == new
    old = next(v for v in inventory.versions if v["kid"] == previous)
    assert not old["in_use"] and old["needed_until"] and old["reasons"]
    actions = list(
        AuditEvent.objects.filter(details__operation=operation.pk).values_list("action", "actor")
    )
    assert ("operation.requested", admin_user.username) in actions
    assert ("operation.approved", second_admin.username) in actions


def test_a_server_level_rotation_covers_every_tenant_on_the_server_and_locks_them(
    large_fleet, admin_user, second_admin, large_emulator
):
    tenant = _tenant(large_fleet, SERVER_LEVEL)
    neighbours = Tenant.objects.filter(sql_server_id=tenant.sql_server_id)

    operation = key_rotation_request(tenant=tenant, requested_by=admin_user, reason="yearly")
    assert operation.subject_type == Operation.Subject.SQL_SERVER
    assert set(operation.parameters["tenant_slugs"]) == {t.slug for t in neighbours}
    for neighbour in neighbours:
        with pytest.raises(OperationRefusedError, match="already has an operation"):
            key_rotation_request(
                tenant=neighbour, requested_by=admin_user, reason="x", level=DATABASE_LEVEL
            )
    approve(operation, second_admin)
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.outcome
    new = operation.checkpoint["new_kid"]
    assert sql.encryption_protector(tenant.sql_server_id).uri == new
    assert new in {k.uri for k in sql.server_keys(tenant.geo_sql_server_id)}
    assert "2 database(s) online" in operation.steps.get(key="verify").message
    inventory = KeyInventory.objects.get(tenant=tenant)
    assert (inventory.level, inventory.kid_in_use) == ("server", new)
    assert set(inventory.covers) == {t.slug for t in neighbours}


def test_a_failure_between_steps_leaves_the_previous_protector_and_says_so(
    large_fleet, admin_user, second_admin, large_emulator
):
    tenant = _tenant(large_fleet, SERVER_LEVEL)
    previous = sql.encryption_protector(tenant.sql_server_id).uri
    large_emulator.control(
        "POST", "faults/fail-lro", {"operation": "encryption_protectors.create_or_update"}
    )

    operation = key_rotation_request(tenant=tenant, requested_by=admin_user, reason="yearly")
    approve(operation, second_admin)
    drive(operation)

    assert operation.state == Operation.State.FAILED
    assert sql.encryption_protector(tenant.sql_server_id).uri == previous
    assert "previous protector" in operation.outcome
    assert previous is not None and previous.rsplit("/", 1)[-1] in operation.outcome


def test_a_batch_rotates_each_key_once_and_reports_the_tenant_that_failed(
    large_fleet, admin_user, second_admin
):
    good = [_tenant(large_fleet, DATABASE_LEVEL, i) for i in range(2)]
    broken = _tenant(large_fleet, DATABASE_LEVEL, 2)
    # The catalogue names another tenant's key: the rotation's pre-check refuses it.
    broken.key_vault_key_id = good[0].key_vault_key_id
    broken.save()
    servers = [_tenant(large_fleet, SERVER_LEVEL, i) for i in range(2)]

    parent = key_rotation_fleet_request(
        tenants=[*good, broken, *servers], requested_by=admin_user, reason="yearly", max_running=2
    )
    approve(parent, second_admin)
    drive(parent, seconds=150)

    children = {c.subject_id: c for c in parent.children.all()}
    assert len(children) == 4  # the server's key once for both of its tenants
    assert parent.state == Operation.State.FAILED
    assert children[broken.slug].state == Operation.State.FAILED
    assert "not the catalogue's key" in children[broken.slug].error_message
    assert all(children[t.slug].state == Operation.State.SUCCEEDED for t in good)
    assert children[servers[0].sql_server_id].state == Operation.State.SUCCEEDED
    assert all(c.approved_by == second_admin for c in children.values())


def test_the_command_requests_a_rotation_through_the_same_service(large_fleet, admin_user):
    tenant = _tenant(large_fleet, DATABASE_LEVEL)
    out = io.StringIO()

    call_command(
        "rotate_key", tenant.slug, "--requested-by", admin_user.username, "--reason", "yearly",
        stdout=out,
    )  # fmt: skip

    operation = Operation.objects.get(kind="key_rotate")
    assert (operation.subject_id, operation.state) == (tenant.slug, "awaiting_approval")
    assert "second admin" in out.getvalue()


def test_the_command_refuses_a_person_without_the_permission(large_fleet, support):
    tenant = _tenant(large_fleet, DATABASE_LEVEL)

    with pytest.raises(Exception, match="permission"):
        call_command("rotate_key", tenant.slug, "--requested-by", support.username, "--reason", "x")
    assert not Operation.objects.exists()


def test_disabling_a_version_a_backup_needs_is_refused_with_until_when(
    large_fleet, admin_user, second_admin
):
    tenant = _tenant(large_fleet, DATABASE_LEVEL)
    operation = key_rotation_request(tenant=tenant, requested_by=admin_user, reason="yearly")
    approve(operation, second_admin)
    drive(operation)
    previous, new = operation.checkpoint["previous_kid"], operation.checkpoint["new_kid"]

    with pytest.raises(OperationRefusedError, match="backups may need it until") as caught:
        key_version_disable(tenant=tenant, kid=previous, by=admin_user)
    with pytest.raises(OperationRefusedError, match="protector in use"):
        key_version_disable(tenant=tenant, kid=new, by=admin_user)

    assert "point-in-time backups" in str(caught.value)
    versions = {v.kid: v.enabled for v in keyvault.key_versions(tenant.key_vault_key_id)}
    assert versions[previous] and versions[new]
    denied = AuditEvent.objects.filter(action="key.version_disable", outcome="denied")
    assert denied.count() == 2

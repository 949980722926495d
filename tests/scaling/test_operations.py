"""Scaling operations end to end against the emulator (driven in this process): a plan scaled up
and out, a database moved to another pool and out to a single-database objective, a pool scaled;
refusals for overflow and below-peak without an override; costly changes need a second admin."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from monitoring.models import RefreshRun
from operations.models import Operation
from operations.services import OperationRefusedError
from portal import roles
from portal.azure import scaling, sql
from portal.azure.clients import azure_clients
from portal.azure.resource_ids import parse
from portal.models import AuditEvent
from scaling.services import (
    database_move_plan,
    database_move_request,
    plan_scale_plan,
    plan_scale_request,
    pool_scale_plan,
    pool_scale_request,
)
from tenants.models import Tenant
from tests.drive import approve, drive
from tests.factories import UserFactory

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def _neighbours(large_emulator: Any) -> tuple[Tenant, str]:
    for entry in large_emulator.tenants:
        for pool in large_emulator.demo["fleet"]["pools"]:
            if (
                pool["server_id"] == entry["sql_server_id"]
                and pool["id"] != entry["elastic_pool_id"]
            ):
                return Tenant.objects.get(slug=entry["slug"]), pool["id"]
    raise AssertionError("no server with two pools")


def test_a_plan_is_scaled_up_and_out_and_verified(large_fleet, admin_user):
    tenant = Tenant.objects.get(slug=large_fleet[0]["slug"])
    before = scaling.plan_get(tenant.app_service_plan_id)
    target = "P1v3" if before.sku_name != "P1v3" else "P2v3"

    plan = plan_scale_plan(tenant=tenant, target_sku=target, target_instances=before.capacity + 1)
    plan = plan_scale_plan(
        tenant=tenant,
        target_sku=target,
        target_instances=before.capacity + 1,
        override_reason="" if not plan.refusals else "test",
    )
    assert any("Last 24 h peak: CPU" in line for line in plan.lines)
    assert any(tenant.display_name in line for line in plan.lines)
    operation = plan_scale_request(tenant=tenant, requested_by=admin_user, reason="busy", plan=plan)
    if operation.state == Operation.State.AWAITING_APPROVAL:
        approve(operation, UserFactory(groups=[roles.ADMINS]))
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.outcome
    after = scaling.plan_get(tenant.app_service_plan_id)
    assert (after.sku_name, after.capacity) == (target, before.capacity + 1)


def test_scaling_a_plan_below_its_peak_is_refused_without_an_override(large_fleet, admin_user):
    tenant = Tenant.objects.get(slug=large_fleet[0]["slug"])
    before = scaling.plan_get(tenant.app_service_plan_id)
    peak = scaling.metric_peak(before.id, "CpuPercentage")
    assert peak is not None and peak > 5

    # S1 × 1 offers one core: below any plan of two or more cores that peaked above 50 %.
    plan = plan_scale_plan(tenant=tenant, target_sku="S1", target_instances=1)
    used = {"S1": 1, "P1v3": 2, "P2v3": 4}[before.sku_name] * before.capacity * peak / 100
    if used <= 1:
        pytest.skip("this seed's plan peaked too low to be below one core")
    with pytest.raises(OperationRefusedError, match="below the last 24 h peak"):
        plan_scale_request(tenant=tenant, requested_by=admin_user, reason="save", plan=plan)
    assert not Operation.objects.exists()
    overridden = plan_scale_plan(
        tenant=tenant, target_sku="S1", target_instances=1, override_reason="month end over"
    )
    assert overridden.refusals == []


def test_a_costly_change_needs_a_second_admin_and_the_requester_cannot_approve(
    large_fleet, admin_user, second_admin
):
    tenant = Tenant.objects.get(slug=large_fleet[0]["slug"])
    plan = plan_scale_plan(tenant=tenant, target_sku="P3v3", target_instances=8)

    operation = plan_scale_request(
        tenant=tenant, requested_by=admin_user, reason="launch", plan=plan
    )

    assert plan.needs_second_admin
    assert (operation.kind, operation.state) == ("plan_scale_costly", "awaiting_approval")
    with pytest.raises(OperationRefusedError, match="cannot approve it"):
        approve(operation, admin_user)
    approve(operation, second_admin)
    assert Operation.objects.get(pk=operation.pk).state == Operation.State.QUEUED


def test_a_database_moves_to_another_pool_on_its_server(large_emulator, large_fleet, admin_user):
    tenant, other_pool = _neighbours(large_emulator)
    plan = database_move_plan(tenant=tenant, to_pool_id=other_pool)
    if plan.refusals:  # a seed whose pools are hot: the compute rules may be overridden
        plan = database_move_plan(tenant=tenant, to_pool_id=other_pool, override_reason="test")

    operation = database_move_request(
        tenant=tenant, requested_by=admin_user, reason="hot", plan=plan
    )
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.outcome
    assert sql.database_get(tenant.database_id).elastic_pool_id.lower() == other_pool.lower()
    # The catalogue follows the database, audited, and the tenant's page is read again.
    tenant.refresh_from_db()
    assert tenant.elastic_pool_id.lower() == other_pool.lower()
    event = AuditEvent.objects.filter(action="tenant.update", tenant=tenant.slug).latest("pk")
    assert event.actor == f"operation #{operation.pk}"
    assert RefreshRun.objects.filter(kind=RefreshRun.Kind.TENANT, tenant=tenant).count() == 1


def test_a_database_moves_out_to_a_single_database_objective(large_fleet, admin_user):
    tenant = Tenant.objects.get(slug=large_fleet[0]["slug"])

    plan = database_move_plan(tenant=tenant, sku_name="S3", sku_tier="Standard")
    operation = database_move_request(
        tenant=tenant, requested_by=admin_user, reason="hot", plan=plan
    )
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.outcome
    database = sql.database_get(tenant.database_id)
    assert (database.elastic_pool_id, database.service_objective) == (None, "S3")
    # The catalogue keeps the pool as the tenant's home (it has no pool-less tenants).
    home = tenant.elastic_pool_id
    tenant.refresh_from_db()
    assert tenant.elastic_pool_id == home


def test_a_move_that_would_overflow_the_pool_is_refused_in_gb(
    large_emulator, large_fleet, admin_user
):
    tenant, other_pool = _neighbours(large_emulator)
    resource = large_emulator.control("GET", f"resource?id={other_pool}")
    held = sum(
        large_emulator.control("GET", f"resource?id={d.id}")["_meta"]["used_bytes"]
        for d in sql.elastic_pool_databases(other_pool)
    )
    assert resource["properties"]["maxSizeBytes"] >= held
    # Shrink the target pool's storage to exactly what its members hold.
    ref = parse(other_pool)
    azure_clients().sql(ref.subscription_id).elastic_pools.begin_update(
        ref.resource_group, ref.name_of("servers"), ref.name, {"properties": {"maxSizeBytes": held}}
    ).result()

    plan = database_move_plan(tenant=tenant, to_pool_id=other_pool, override_reason="even so")

    assert any("would overflow its storage by" in r and "GB" in r for r in plan.refusals)
    with pytest.raises(OperationRefusedError, match="overflow"):
        database_move_request(tenant=tenant, requested_by=admin_user, reason="x", plan=plan)


def test_a_pool_is_scaled_and_lists_its_tenants(
    large_emulator, large_fleet, admin_user, second_admin
):
    pool = next(
        p for p in large_emulator.demo["fleet"]["pools"] if p["sku"]["name"] == "StandardPool"
    )
    target = 800 if pool["sku"]["capacity"] < 800 else 1200

    plan = pool_scale_plan(pool_id=pool["id"], target_capacity=target)
    operation = pool_scale_request(requested_by=admin_user, reason="growth", plan=plan)
    if operation.state == Operation.State.AWAITING_APPROVAL:
        approve(operation, second_admin)
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.outcome
    assert sql.elastic_pool_get(pool["id"]).capacity == target
    members = Tenant.objects.filter(elastic_pool_id__iexact=pool["id"])
    assert any(all(t.display_name in line for t in members) for line in plan.lines)


def test_the_scale_tenant_command_plans_without_yes_and_requests_with_it(large_fleet, admin_user):
    tenant = Tenant.objects.get(slug=large_fleet[0]["slug"])
    out = io.StringIO()
    args = ["scale_tenant", tenant.slug, "--to-sku", "S3", "--requested-by", admin_user.username]

    call_command(*args, "--reason", "hot", stdout=out)
    assert "Plan only" in out.getvalue() and not Operation.objects.exists()
    call_command(*args, "--reason", "hot", "--yes", stdout=out)
    assert Operation.objects.get().kind == "database_move"


def test_the_scale_pool_command_refuses_a_size_outside_the_settings(
    large_emulator, large_fleet, admin_user
):
    pool = large_emulator.demo["fleet"]["pools"][0]

    with pytest.raises(CommandError, match="not an allowed pool size"):
        call_command(
            "scale_pool", pool["id"], "--capacity", "7", "--requested-by", admin_user.username,
            "--reason", "x", "--yes",
        )  # fmt: skip
    assert not Operation.objects.exists()

"""A region failover of the seeded fleet during an injected Australia East outage, run step by
step in the test's process against the emulator through the SDKs: every tenant with a standby
comes up in Australia Southeast tier by tier, the one without is reported with its reason."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from backups.services import RestoreRequest, restore_plan
from dr.failover import tier_progress
from monitoring.models import RefreshRun, TenantHealth
from monitoring.services import fleet_refresh
from operations.models import Operation
from portal import roles
from portal.azure import dr as azure_dr
from portal.models import AuditEvent
from portal.resource_ids import name_of
from tenants.models import Tenant
from tests.dr.failover_fleet import (
    assess_then_down,
    declared_and_approved,
    emulator_resource,
    geo_restores_begun,
)
from tests.drive import drive
from tests.factories import UserFactory
from tests.monitoring.conftest import seeded

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def down(azure_emulator, fleet, control, settings):
    settings.OPERATIONS_WAIT_SECONDS = 0.3
    settings.OPERATIONS_ADMISSION_RETRY_SECONDS = 0.3
    assess_then_down(azure_emulator)
    yield azure_emulator
    # The failover made databases and started sites other tests expect absent or stopped.
    azure_emulator.reset()
    azure_emulator.control("POST", "clock", {"offset_seconds": 0})


def test_every_ready_tenant_comes_up_in_australia_southeast_and_each_failure_is_reported(
    down, client
):
    # No standby site: one is made from the primary's configuration recorded by readiness.
    made_here = seeded(down, "no_standby_site")["slug"]
    # Tenants whose database Azure already replicates to the paired server (those with locally
    # redundant backups among them: no geo backup to restore from) fail over their link.
    by_link = {
        t["slug"]: t["geo_secondary_database_id"].lower()
        for t in down.tenants
        if t.get("geo_secondary_database_id")
    }
    assert seeded(down, "backup_local")["slug"] in by_link
    # One tenant's target name is taken on the paired server by a restore someone else began:
    # its failover is refused, the rest go on.
    victim = next(
        t
        for t in Tenant.objects.select_related("dr_readiness").order_by("slug")
        if t.slug not in by_link and t.slug != made_here
    )
    unready = victim.slug
    azure_dr.geo_restore_begin(
        recoverable=azure_dr.recoverable_database(victim.sql_server_id, victim.database_name),
        target_id=f"{victim.geo_sql_server_id}/databases/{victim.database_name}",
        location="australiasoutheast",
        elastic_pool_id=None,
        tags={"fleetwise-role": "someone-else"},
    )
    before = geo_restores_begun(down)
    parent = declared_and_approved()
    drive(parent, seconds=180)

    assert parent.state == Operation.State.FAILED and parent.error_code == "TenantsFailed"
    children = list(parent.children.select_related("tenant").order_by("id"))
    assert len(children) == Tenant.objects.count()
    # The outcome says how many moved, not "no tenant was failed over".
    assert parent.outcome == (
        f"{len(children) - 1} of {len(children)} tenants now run in Australia Southeast; "
        "the others were not failed over and are listed with their reasons."
    )
    # Highest tier first: the children were started in tier order.
    assert [c.tenant.dr_tier for c in children] == sorted(c.tenant.dr_tier for c in children)
    failed = [c for c in children if c.state == Operation.State.FAILED]
    # Each failure says why; the rest of the fleet went on.
    assert {c.subject_id: c.error_code for c in failed} == {unready: "TargetExists"}
    reasons = {c.subject_id: c.error_message for c in failed}
    assert "was not made by this failover" in reasons[unready]

    keys_kept = 0
    for child in children:
        tenant = child.tenant
        tenant.refresh_from_db()
        if child in failed:
            assert tenant.active.at_home
            continue
        assert child.state == Operation.State.SUCCEEDED, (child.subject_id, child.error_message)
        active = tenant.active
        assert active.region == "australiasoutheast" and active.site_id.endswith("-ase")
        database = emulator_resource(down, active.database_id)
        assert database["properties"]["status"] == "Online"
        if tenant.slug in by_link:
            # Its geo-secondary, now the primary after a forced failover of the link.
            assert active.database_id.lower() == by_link[tenant.slug]
            assert "secondaryType" not in database["properties"]
            assert database["_meta"]["failovers"][-1]["forced"] is True
        else:
            assert database["tags"]["fleetwise-role"] == "failover"
            assert database["_meta"]["lineage"]["create_mode"] == "Recovery"
        # A tenant with its own key keeps it: readiness recorded it while the primary answered.
        own_key = tenant.dr_readiness.key_uri
        assert database["properties"].get("encryptionProtector") == (own_key or None)
        if own_key:
            assert list(database["identity"]["userAssignedIdentities"]) == (
                tenant.dr_readiness.key_identity_ids
            )
            keys_kept += 1
        site = emulator_resource(down, active.site_id)
        assert site["properties"]["state"] == "Running"
        assert AuditEvent.objects.filter(action="tenant.relocated", tenant=tenant.slug).exists()

    # The standby made during the outage: beside the paired server (the tenant's own resource
    # group lives in the downed region), on its own plan of the primary's SKU, running now.
    made = Tenant.objects.get(slug=made_here)
    recipe = made.dr_readiness.standby_recipe
    assert made.active.site_id == recipe["site_id"]
    paired_group = made.geo_sql_server_id.split("/providers/")[0].lower()
    assert made.active.site_id.lower().startswith(paired_group)
    plan = emulator_resource(down, recipe["plan_id"])
    assert plan["sku"]["name"] == recipe["blueprint"]["plan_sku_name"]
    assert plan["location"] == "Australia Southeast"
    site = emulator_resource(down, made.active.site_id)
    assert site["properties"]["httpsOnly"] is True
    assert site["tags"]["fleetwise-role"] == "standby"

    assert keys_kept, "at least one tenant with its own key was failed over"

    # One geo-restore per tenant restored, none for those failed over by their link nor for
    # the tenant refused.
    begun = geo_restores_begun(down) - before
    assert sorted(begun.values()) == [1] * (len(children) - 1 - len(by_link))
    assert not set(begun) & set(by_link.values())

    tiers = {row["tier"]: row for row in tier_progress(parent)}
    assert sum(row["done"] for row in tiers.values()) == len(children) - 1
    assert sum(row["failed"] for row in tiers.values()) == 1
    assert all(row["queued"] == 0 and row["running"] == 0 for row in tiers.values())

    client.force_login(parent.requested_by)
    page = client.get(f"/dr/failover/{parent.pk}/").content.decode()
    assert "TargetExists" in page and unready in page
    moved = next(c.tenant for c in children if c.state == Operation.State.SUCCEEDED)
    tenant_page = client.get(f"/fleet/{moved.slug}/").content.decode()
    assert 'id="runs-away"' in tenant_page and "Runs in australiasoutheast" in tenant_page
    assert 'id="runs-away"' not in client.get(f"/fleet/{unready}/").content.decode()


def test_a_restore_after_the_failover_acts_on_the_copy_the_tenant_runs_on(down):
    moved_slug = next(t["slug"] for t in down.tenants if not t["seeded_issues"])
    parent = declared_and_approved()
    drive(parent, seconds=180)
    moved = Tenant.objects.get(slug=moved_slug)
    assert not moved.active.at_home

    # An hour on, restore the Southeast copy to half an hour ago. The plan reads only the copy
    # in use (Australia East still answers 503 to anything else) and targets its server.
    down.control("POST", "clock", {"advance_seconds": 3600})
    later = timezone.now() + timedelta(hours=1)
    support = UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])
    plan = restore_plan(
        tenant=moved,
        user=support,
        request=RestoreRequest(
            mode="parallel",
            when=(later - timedelta(minutes=30)).strftime("%Y-%m-%d %H:%M:%S"),
            in_utc=True,
        ),
        now=later,
    )
    assert plan.parameters["server_id"] == moved.active.sql_server_id
    assert plan.parameters["database_id"].lower() == moved.active.database_id.lower()
    assert plan.parameters["site_id"] == moved.active.site_id
    assert plan.parameters["geo_server_id"] is None


def test_status_follows_a_failed_over_tenant_to_the_copy_it_runs_on(down, client, admin_user):
    """Monitoring watches the copy a tenant runs on: during the outage its home is unreadable,
    yet its status comes from the standby and the Southeast database, which are healthy."""
    moved_slug = next(t["slug"] for t in down.tenants if not t["seeded_issues"])
    drive(declared_and_approved(), seconds=180)
    moved = Tenant.objects.get(slug=moved_slug)
    assert not moved.active.at_home

    fleet_refresh(kind=RefreshRun.Kind.HOT, tenants=[moved])

    health = TenantHealth.objects.get(tenant=moved)
    assert (health.app_state, health.db_status) == ("Running", "Online")
    assert health.region == "australiasoutheast"
    assert health.pool_name == name_of(moved.active.elastic_pool_id)
    assert health.status == "healthy", health.reasons
    moved.refresh_from_db()
    assert moved.database_id != moved.active.database_id  # the catalogue's home is unchanged
    client.force_login(admin_user)
    page = client.get(f"/fleet/{moved_slug}/").content.decode()
    assert name_of(moved.active.elastic_pool_id) in page

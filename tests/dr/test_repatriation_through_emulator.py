"""Repatriation end to end against the emulator through the SDKs, run step by step in the
test's process: a tenant failed over during an injected outage is brought home once the outage
ends, with the downtime of a switch; the copies left behind go only after a second admin
approves, and not while the home copy is unhealthy."""

from __future__ import annotations

import pytest

from dr.models import DrRepatriation
from dr.repatriation import RepatriationRefusedError, repatriation_request
from dr.repatriation_state import SWITCH_STARTED_AT
from operations.models import Operation
from portal.azure import replication, sites, sql, web
from portal.models import AuditEvent
from portal.resource_ids import name_of
from tests.dr.repatriation_fleet import database_or_none, failed_over, movable
from tests.drive import approve, drive

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def brought_home(tenant, admin_user):
    operation = repatriation_request(
        tenants=[tenant], user=admin_user, reason="Australia East is back"
    )
    drive(operation, seconds=120)
    assert operation.state == Operation.State.SUCCEEDED, (
        operation.error_code,
        operation.error_message,
    )
    tenant.refresh_from_db()
    return operation


def test_after_the_outage_the_tenant_is_brought_home_with_only_a_switchs_downtime(
    away, admin_user, second_admin
):
    tenant = away
    southeast = away.active
    standby_before = tenant.standby_before
    operation = brought_home(tenant, admin_user)

    # The catalogue, Azure and the home app agree the tenant runs at home on a primary.
    assert tenant.active.at_home
    home = sql.database_get(tenant.database_id)
    assert home.status == "Online" and not home.secondary_type
    (link,) = replication.replication_links(tenant.database_id)
    assert (link.role, link.partner_role) == ("Primary", "Secondary")
    assert link.partner_database_id.lower() == southeast.database_id.lower()
    assert web.site_get(tenant.app_service_site_id).is_running
    pointed = sites.connection_strings_get(tenant.app_service_site_id)["FleetwiseDb"].value
    assert f"{name_of(tenant.sql_server_id)}.database.windows.net" in pointed
    assert f"Initial Catalog={tenant.database_name};" in pointed
    # The standby is back as it was before the failover: stopped, its old connection string.
    assert not web.site_get(southeast.site_id).is_running
    assert sites.connection_strings_get(southeast.site_id) == standby_before

    # The stale home database was set aside, tagged, not deleted.
    repatriation = DrRepatriation.objects.get(operation=operation)
    aside = sql.database_find(tenant.sql_server_id, repatriation.set_aside_name)
    assert aside is not None and aside.tags["fleetwise-role"] == "pre-failover"
    assert aside.tags["fleetwise-operation"] == str(operation.pk)

    # Downtime is the switch: from stopping the standby to the home app and database healthy.
    assert repatriation.switch_started_at.isoformat() == operation.checkpoint[SWITCH_STARTED_AT]
    assert 0 < repatriation.downtime_seconds < 30
    assert (
        repatriation.downtime_seconds
        < (operation.finished_at - operation.started_at).total_seconds()
    )
    relocated = AuditEvent.objects.filter(action="tenant.relocated", tenant=tenant.slug).latest(
        "id"
    )
    assert relocated.details["to"]["database"] == tenant.database_id
    assert AuditEvent.objects.filter(action="dr.repatriated", tenant=tenant.slug).exists()

    # Nothing is deleted until a second admin approves each deletion.
    away_cleanup = repatriation.away_cleanup_operation
    aside_cleanup = repatriation.aside_cleanup_operation
    for cleanup in (away_cleanup, aside_cleanup):
        assert cleanup.state == Operation.State.AWAITING_APPROVAL
    assert sql.database_get(southeast.database_id).status == "Online"
    for cleanup in (away_cleanup, aside_cleanup):
        approve(cleanup, second_admin)
    drive(away_cleanup, aside_cleanup, seconds=60)
    assert away_cleanup.state == aside_cleanup.state == Operation.State.SUCCEEDED
    assert database_or_none(southeast.database_id) is None
    assert sql.database_find(tenant.sql_server_id, repatriation.set_aside_name) is None
    assert sql.database_get(tenant.database_id).status == "Online"
    assert replication.replication_links(tenant.database_id) == []


def test_a_tenant_at_home_is_refused_with_the_reason_and_nothing_is_created(
    away, admin_user, support
):
    brought_home(away, admin_user)
    before = Operation.objects.count()
    with pytest.raises(RepatriationRefusedError, match="already runs at home"):
        repatriation_request(tenants=[away], user=admin_user, reason="again")
    with pytest.raises(RepatriationRefusedError, match="Only admins"):
        repatriation_request(tenants=[away], user=support, reason="again")
    assert Operation.objects.count() == before


def test_while_the_home_region_is_down_the_request_is_refused_and_nothing_is_created(
    away, admin_user, azure_emulator
):
    azure_emulator.control("POST", "faults/outage", {"region": "australiaeast", "active": True})
    before = Operation.objects.count()
    with pytest.raises(RepatriationRefusedError, match="does not answer"):
        repatriation_request(tenants=[away], user=admin_user, reason="too early")
    assert Operation.objects.count() == before


@pytest.fixture
def away_with_own_key(azure_emulator, fleet, control, settings, admin_user):
    settings.OPERATIONS_WAIT_SECONDS = 0.3
    settings.OPERATIONS_ADMISSION_RETRY_SECONDS = 0.3
    tenant, _ = failed_over(azure_emulator, movable(azure_emulator, with_own_key=True), admin_user)
    yield tenant
    azure_emulator.reset()
    azure_emulator.control("POST", "clock", {"offset_seconds": 0})


def test_the_southeast_copy_is_not_deleted_while_the_home_copy_is_not_healthy(
    away_with_own_key, admin_user, second_admin, azure_emulator
):
    from tests.emulator import provider_clients

    tenant = away_with_own_key
    southeast = tenant.active
    operation = brought_home(tenant, admin_user)
    home = sql.database_get(tenant.database_id)
    # The home copy kept the tenant's own key; that key version is then disabled in Key Vault
    # and, ten minutes later, Azure reports the database Inaccessible.
    assert home.encryption_protector
    name, version = home.encryption_protector.rstrip("/").split("/keys/", 1)[1].split("/")
    provider_clients.keys(azure_emulator).update_key_properties(name, version, enabled=False)
    azure_emulator.control("POST", "clock", {"advance_seconds": 11 * 60})
    assert sql.database_get(tenant.database_id).status == "Inaccessible"

    cleanup = DrRepatriation.objects.get(operation=operation).away_cleanup_operation
    approve(cleanup, second_admin)
    drive(cleanup, seconds=60)

    assert cleanup.state == Operation.State.FAILED
    assert cleanup.error_code == "NewerCopyNotHealthy"
    assert cleanup.error_message == (
        f"{southeast.database_name} was not deleted: the copy {tenant.slug} runs on now, "
        f"{tenant.database_name} on {name_of(tenant.sql_server_id)}, is Inaccessible, not Online."
    )
    assert cleanup.outcome == "Nothing was deleted."
    # Still there (it shares the disabled key, so it is no healthier: all the more reason).
    assert database_or_none(southeast.database_id) is not None


def test_the_command_and_the_pages_go_through_the_same_request_and_show_the_downtime(
    away, admin_user, client
):
    from io import StringIO

    from django.contrib.messages import get_messages
    from django.core.management import call_command

    out = StringIO()
    call_command(
        "repatriate",
        "--tier",
        str(away.dr_tier),
        "--requested-by",
        admin_user.username,
        "--reason",
        "Australia East is back",
        stdout=out,
    )
    operation = Operation.objects.get(kind="repatriate")
    assert out.getvalue().strip() == (
        f"Repatriation of {away.slug} requested as operation #{operation.pk}."
    )
    assert operation.parameters["away_database_id"] == away.active.database_id

    # A second request while it runs is refused by the tenant's lock; nothing more is created.
    client.force_login(admin_user)
    response = client.post("/dr/repatriate", {"tenant": away.slug, "reason": "again"})
    assert "Nothing was requested:" in " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert Operation.objects.filter(kind="repatriate").count() == 1

    drive(operation, seconds=120)
    assert operation.state == Operation.State.SUCCEEDED, operation.error_message
    downtime = f"{operation.dr_repatriation.downtime_seconds:.0f} s"
    tenant_page = client.get(f"/fleet/{away.slug}/").content.decode()
    assert 'id="runs-away"' not in tenant_page
    assert 'id="tenant-last-repatriation"' in tenant_page and downtime in tenant_page
    dr_page = client.get("/dr/").content.decode()
    assert 'id="last-repatriation"' in dr_page and downtime in dr_page


def test_several_tenants_come_home_as_children_of_one_repatriation(
    away, admin_user, azure_emulator
):
    other, _ = failed_over(azure_emulator, movable(azure_emulator, skip=1), admin_user)
    parent = repatriation_request(
        tenants=[away, other], user=admin_user, reason="Australia East is back"
    )
    assert parent.kind == "repatriate_set"
    drive(parent, seconds=180)

    assert parent.state == Operation.State.SUCCEEDED, parent.error_message
    children = list(parent.children.order_by("id"))
    assert [c.kind for c in children] == ["repatriate", "repatriate"]
    assert {c.subject_id for c in children} == {away.slug, other.slug}
    assert all(c.state == Operation.State.SUCCEEDED for c in children)
    for tenant in (away, other):
        tenant.refresh_from_db()
        assert tenant.active.at_home
        assert DrRepatriation.objects.filter(tenant=tenant).count() == 1


def test_a_tenant_failed_over_through_its_link_comes_home_by_the_same_link_and_keeps_its_replica(
    away_by_link, admin_user, azure_emulator
):
    tenant = away_by_link
    southeast = tenant.active
    # The forced failover left the old home primary re-joined as the Southeast copy's secondary.
    (before,) = replication.replication_links(tenant.database_id)
    assert before.role == "Secondary"
    creates_before = sum(
        1
        for row in azure_emulator.control("GET", "operations")["operations"]
        if row["operation"] == "databases.create_or_update"
        and row["resource_id"].lower() == tenant.database_id.lower()
    )
    operation = brought_home(tenant, admin_user)

    assert "already replicated" in operation.steps.get(key="set_aside").message
    assert operation.steps.get(key="secondary").message.startswith("The home database is already")
    assert tenant.active.at_home
    (link,) = replication.replication_links(tenant.database_id)
    assert (link.role, link.partner_role) == ("Primary", "Secondary")
    assert link.partner_database_id.lower() == southeast.database_id.lower()
    creates_after = sum(
        1
        for row in azure_emulator.control("GET", "operations")["operations"]
        if row["operation"] == "databases.create_or_update"
        and row["resource_id"].lower() == tenant.database_id.lower()
    )
    assert creates_after == creates_before  # no new copy: the link carried the data home
    # The standing geo-secondary is the tenant's DR replica again: kept, nothing to delete.
    repatriation = DrRepatriation.objects.get(operation=operation)
    assert repatriation.set_aside_name == ""
    assert repatriation.away_cleanup_operation is None
    assert repatriation.aside_cleanup_operation is None
    assert "is kept: it is the tenant's standing geo-secondary" in (
        operation.steps.get(key="deletions").message
    )
    assert sql.database_get(southeast.database_id).secondary_type == "Geo"

"""DR drills driven in process through the emulator: measured and recorded, production and the
standby left as they were, the drill database deleted only after a second admin approves;
refusals that create nothing; a drill of several tenants as one parent; the pages and the
command."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from dr.drills import DRILL, DRILL_SET, DrillRefusedError, drill_request
from dr.models import DrDrill, DrReadiness
from dr.services import readiness_refresh
from dr.standby import StandbyRecipe
from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from operations.models import Operation
from portal import roles
from portal.azure import site_blueprint, sites, sql, web
from tests.dr.conftest import standby_remove, unpaired
from tests.drive import approve, drive
from tests.factories import UserFactory
from tests.monitoring.conftest import seeded
from tests.request_log import request_marker, writes_since

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.integration,
    pytest.mark.usefixtures("drill_databases_removed"),
]


@pytest.fixture
def assessed(azure_emulator, fleet, control):
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    readiness_refresh()
    return fleet


def ready_tenants(fleet):
    """Ready tenants with a standby site (the one without has its standby made by its drill)."""
    ready = {
        r.tenant_id for r in DrReadiness.objects.filter(ready=True).exclude(standby_site_id="")
    }
    return [t for t in fleet if t.pk in ready]


@pytest.fixture
def blake(db):
    return UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS])


def _emulator_db(emulator, database_id):
    return emulator.control("GET", "state")["resources"].get(database_id.lower())


def test_a_drill_measures_rto_and_rpo_puts_the_standby_back_and_tears_down_after_approval(
    azure_emulator, assessed, support, blake
):
    tenant = ready_tenants(assessed)[0]
    standby = DrReadiness.objects.get(tenant=tenant).standby_site_id
    strings_before = sites.connection_strings_get(standby)
    live_before = sql.database_get(tenant.database_id)

    operation = drill_request(tenants=[tenant], user=support, reason="Quarterly drill")
    drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, list(
        operation.steps.values_list("key", "message")
    )
    drill = DrDrill.objects.get(operation=operation)
    assert drill.tenant == tenant
    assert drill.database_name.startswith(f"{live_before.name}-drill-")
    assert drill.rto_seconds > 0
    assert drill.rto_seconds == pytest.approx(
        (drill.healthy_at - operation.created_at).total_seconds()
    )
    # Geo backups lag about an hour (the emulator serves the last ten-minute mark an hour ago).
    assert 3600 <= drill.rpo_seconds <= 3600 + 660
    # The standby is back: stopped, its connection strings as they were.
    assert sites.site_probe(standby).state == "Stopped"
    assert sites.connection_strings_get(standby) == strings_before
    # Production untouched.
    live_after = sql.database_get(tenant.database_id)
    assert live_after.is_online and live_after.tags == live_before.tags
    # The drill database waits for a second admin before it goes.
    teardown = drill.teardown_operation
    assert teardown is not None and teardown.kind == "restore_cleanup"
    assert teardown.state == Operation.State.AWAITING_APPROVAL
    assert _emulator_db(azure_emulator, drill.database_id) is not None

    approve(teardown, blake)
    drive(teardown)

    assert teardown.state == Operation.State.SUCCEEDED, teardown.error_message
    assert _emulator_db(azure_emulator, drill.database_id) is None
    assert _emulator_db(azure_emulator, tenant.database_id) is not None


def test_a_tenant_that_is_not_dr_ready_is_refused_and_nothing_is_created(
    azure_emulator, assessed, support
):
    tenant = unpaired(azure_emulator, assessed)
    readiness_refresh()
    marker = request_marker(azure_emulator)

    with pytest.raises(DrillRefusedError) as refused:
        drill_request(tenants=[tenant], user=support, reason="drill")

    assert "is not DR ready" in refused.value.message
    assert "names no paired SQL server" in refused.value.message
    assert not Operation.objects.exists()
    assert writes_since(azure_emulator, marker) == 0


def test_a_tenant_ready_only_through_its_geo_secondary_is_refused_a_drill_in_words(
    azure_emulator, assessed, support
):
    # Locally redundant backups: no geo backup for a drill to restore, though a failover of
    # its replication link would bring it up.
    local = next(t for t in assessed if t.slug == seeded(azure_emulator, "backup_local")["slug"])
    assert local.dr_readiness.ready
    marker = request_marker(azure_emulator)

    with pytest.raises(DrillRefusedError) as refused:
        drill_request(tenants=[local], user=support, reason="drill")

    assert "DR ready through its geo-secondary" in refused.value.message
    assert not Operation.objects.exists()
    assert writes_since(azure_emulator, marker) == 0


def test_a_tenant_never_assessed_is_refused(azure_emulator, fleet, support):
    with pytest.raises(DrillRefusedError, match="has not been assessed for DR yet"):
        drill_request(tenants=[fleet[0]], user=support, reason="drill")
    assert not Operation.objects.exists()


def test_an_account_manager_may_not_run_a_drill(assessed, account_manager):
    with pytest.raises(DrillRefusedError, match="do not have permission"):
        drill_request(tenants=ready_tenants(assessed)[:1], user=account_manager, reason="drill")
    assert not Operation.objects.exists()


def test_a_drill_of_several_tenants_runs_each_as_a_child(azure_emulator, assessed, admin_user):
    chosen = ready_tenants(assessed)[:2]

    parent = drill_request(tenants=chosen, user=admin_user, reason="Tier drill")
    drive(parent, seconds=180)

    assert parent.kind == DRILL_SET and parent.state == Operation.State.SUCCEEDED
    children = list(parent.children.all())
    assert {c.kind for c in children} == {DRILL} and len(children) == 2
    assert all(c.state == Operation.State.SUCCEEDED for c in children)
    assert set(DrDrill.objects.values_list("tenant__slug", flat=True)) == {t.slug for t in chosen}


def test_the_pages_show_the_last_drill_and_only_staff_who_restore_may_request_one(
    client, azure_emulator, assessed, support, account_manager
):
    tenant = ready_tenants(assessed)[0]
    client.force_login(account_manager)
    refused = client.post(reverse("dr:drill"), {"tenant": tenant.slug, "reason": "x"})
    assert refused.status_code == 403

    client.force_login(support)
    answer = client.post(
        reverse("dr:drill"), {"tenant": tenant.slug, "reason": "Drill from the page"}
    )
    operation = Operation.objects.get(kind=DRILL)
    assert answer.status_code == 302
    assert answer["Location"] == reverse("operations:detail", args=[operation.pk])
    drive(operation)

    drill = DrDrill.objects.get(operation=operation)
    page = client.get(reverse("dr:readiness")).content.decode()
    assert 'id="last-drill"' in page and f"RTO <strong>{drill.rto_seconds:.0f} s" in page
    tenant_page = client.get(reverse("tenants:detail", args=[tenant.slug])).content.decode()
    assert f"RTO <strong>{drill.rto_seconds:.0f} s</strong>" in tenant_page
    assert f"#{drill.teardown_operation_id}" in tenant_page


def test_the_command_refuses_a_tenant_that_is_not_ready_in_words(azure_emulator, assessed, support):
    without = unpaired(azure_emulator, assessed)
    readiness_refresh()

    with pytest.raises(CommandError, match="is not DR ready"):
        call_command(
            "dr_drill",
            "--tenant",
            without.slug,
            "--requested-by",
            support.username,
            "--reason",
            "drill",
            stdout=StringIO(),
        )
    assert not Operation.objects.exists()


def test_a_tenant_whose_standby_is_running_is_refused(azure_emulator, assessed, support):
    tenant = ready_tenants(assessed)[0]
    DrReadiness.objects.filter(tenant=tenant).update(standby_state="Running")

    with pytest.raises(DrillRefusedError, match="is running"):
        drill_request(tenants=[tenant], user=support, reason="drill")
    assert not Operation.objects.exists()


def test_the_drill_step_leaves_a_standby_started_since_the_request_alone(
    azure_emulator, assessed, support
):
    tenant = ready_tenants(assessed)[0]
    standby = DrReadiness.objects.get(tenant=tenant).standby_site_id
    operation = drill_request(tenants=[tenant], user=support, reason="drill")
    web.site_start(standby)
    try:
        drive(operation)
        still_running = web.site_get(standby).is_running
    finally:
        web.site_stop(standby)

    assert operation.state == Operation.State.FAILED
    assert "is running" in operation.error_message
    assert operation.steps.get(key="restore").state == "skipped"
    assert still_running
    assert "Production was not touched" in operation.outcome


def test_a_tenant_without_a_standby_is_drilled_on_one_made_from_its_primarys_configuration(
    azure_emulator, assessed, support
):
    without = seeded(azure_emulator, "no_standby_site")
    tenant = next(t for t in assessed if t.slug == without["slug"])
    recipe = StandbyRecipe(**DrReadiness.objects.get(tenant=tenant).standby_recipe)
    try:
        operation = drill_request(tenants=[tenant], user=support, reason="drill")
        drive(operation, seconds=180)

        assert operation.state == Operation.State.SUCCEEDED, operation.error_message
        made = web.site_get(recipe.site_id)
        # Made stopped, drilled, stopped again: a standby waiting for the next failover.
        assert made.state == "Stopped" and made.location == "Australia Southeast"
        assert made.server_farm_id.lower() == recipe.plan_id.lower()
        assert sites.app_settings_get(recipe.site_id) == recipe.parts().app_settings
        # Built as the primary is: its identities, HTTPS only, runtime and security settings.
        built = site_blueprint.site_blueprint_read(recipe.site_id)
        wanted = recipe.parts()
        assert built.identity_ids == wanted.identity_ids
        assert (built.https_only, built.kind) == (wanted.https_only, wanted.kind)
        assert built.config == wanted.config
        assert (built.plan_sku_name, built.plan_kind) == (wanted.plan_sku_name, wanted.plan_kind)
        assert "Created the stopped standby" in operation.steps.get(key="standby").message
        # The next readiness finds it as the tenant's standby and forgets the recipe.
        readiness_refresh()
        row = DrReadiness.objects.get(tenant=tenant)
        assert row.standby_site_id.lower() == recipe.site_id.lower() and row.standby_recipe == {}
    finally:
        standby_remove(recipe)

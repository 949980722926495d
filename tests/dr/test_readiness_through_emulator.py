"""Readiness read through the SDKs from the emulator's seeded Australia Southeast arrangement
(pools mirroring the primaries', stopped standby sites, keys on the paired servers), recorded
with the posture check "DR ready", and shown on the DR page, the tenant page and the dashboard."""

from __future__ import annotations

import re
from dataclasses import replace
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse

from azure_emulator.seed.fleet import IDENTITY_PATH
from dr.collect import PairedServer, _key
from dr.models import DrReadiness
from dr.services import readiness_refresh
from dr.standby import StandbyRecipe
from monitoring.models import PostureCheck, RefreshRun, TenantHealth
from monitoring.services import fleet_refresh
from portal.azure import dr as azure_dr
from portal.azure import site_blueprint, sites
from portal.models import AuditEvent
from tests.dr.conftest import unpaired
from tests.monitoring.conftest import compliant, seeded

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def assessed(azure_emulator, fleet, control):
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    return readiness_refresh()


def test_standby_sites_are_listed_from_the_paired_region_only(azure_emulator, fleet):
    tenant = compliant(azure_emulator)
    sites = azure_dr.standby_sites(tenant["subscription_id"])

    mine = [s for s in sites if s.tenant_slug == tenant["slug"]]
    assert len(mine) == 1
    assert mine[0].name == f"{tenant['site_name']}-ase" and mine[0].state == "Stopped"
    assert all(azure_dr.region_key(s.location) == "australiasoutheast" for s in sites)


def test_a_compliant_tenant_is_ready_with_its_pool_standby_and_key(azure_emulator, assessed):
    tenant = compliant(azure_emulator)
    row = DrReadiness.objects.get(tenant__slug=tenant["slug"])

    assert row.ready, row.gaps
    assert row.paired_server == tenant["geo_server_name"]
    assert row.paired_pool_name.endswith("-dr")
    assert row.standby_state == "Stopped"
    assert "server key on the paired server" in row.key_note
    assert row.geo_backup_at is not None
    check = PostureCheck.objects.get(tenant__slug=tenant["slug"], check_name="dr_ready")
    assert check.passed and check.actual == "ready"


def test_a_database_level_key_is_recorded_with_its_identities_and_a_server_key_is_not(
    azure_emulator, assessed
):
    rows = {r.tenant.slug: r for r in DrReadiness.objects.select_related("tenant")}
    resources = azure_emulator.control("GET", "state")["resources"]
    own = 0
    for tenant in azure_emulator.tenants:
        database = resources[tenant["database_id"].lower()]
        protector = database["properties"].get("encryptionProtector") or ""
        row = rows[tenant["slug"]]
        assert row.key_uri == protector
        if protector:
            own += 1
            assert row.key_identity_ids == list(database["identity"]["userAssignedIdentities"])
        else:
            assert row.key_identity_ids == []
    assert own, "the seeded fleet has tenants with their own key"


def test_a_tenant_without_a_standby_is_ready_with_the_primarys_configuration_recorded(
    azure_emulator, assessed
):
    tenant = seeded(azure_emulator, "no_standby_site")
    row = DrReadiness.objects.get(tenant__slug=tenant["slug"])
    resources = azure_emulator.control("GET", "state")["resources"]
    plan = resources[tenant["plan_id"].lower()]
    web_config = resources[f"{tenant['site_id']}/config/web".lower()]["properties"]

    assert row.ready, row.gaps
    assert row.standby_site_id == "" and row.standby_recipe_at is not None
    assert abs((row.standby_recipe_at - row.checked_at).total_seconds()) < 60
    recipe = StandbyRecipe(**row.standby_recipe)
    paired_group = tenant["geo_server_id"].split("/providers/")[0]
    assert recipe.site_id == (
        f"{paired_group}/providers/Microsoft.Web/sites/{tenant['site_name']}-ase"
    )
    assert recipe.plan_id.endswith(f"/serverfarms/{plan['name']}-ase")
    made = recipe.parts()
    assert (made.plan_sku_name, made.plan_sku_tier) == (plan["sku"]["name"], plan["sku"]["tier"])
    assert made.https_only is True and made.kind == "app,linux"
    for name, key in (
        ("min_tls_version", "minTlsVersion"),
        ("ftps_state", "ftpsState"),
        ("linux_fx_version", "linuxFxVersion"),
        ("health_check_path", "healthCheckPath"),
    ):
        assert made.config[name] == web_config[key]
    assert made.tags["fleetwise-tenant"] == tenant["slug"]
    # Plain settings are kept; the Application Insights connection string carries a key.
    assert made.app_settings["FLEETWISE_TENANT"] == tenant["slug"]
    assert row.standby_left_out == ["APPLICATIONINSIGHTS_CONNECTION_STRING"]
    assert "InstrumentationKey" not in str(row.standby_recipe)
    check = PostureCheck.objects.get(tenant__slug=tenant["slug"], check_name="dr_ready")
    assert check.passed


def test_a_recipe_keeps_key_vault_references_and_identities_but_never_a_plain_secret(
    azure_emulator, fleet, control
):
    tenant = seeded(azure_emulator, "no_standby_site")
    site_id = tenant["site_id"]
    # The primary reaches its vault with a user-assigned identity (left on it afterwards: a
    # standby made later in the session carries it too, which is what it is for).
    identity = f"/subscriptions/{tenant['subscription_id']}{IDENTITY_PATH}"
    primary = site_blueprint.site_blueprint_read(site_id)
    site_blueprint.site_create_from(
        site_id=site_id,
        plan_id=tenant["plan_id"],
        location="Australia East",
        blueprint=replace(primary, identity_ids=[identity]),
        tags=primary.tags,
    )
    settings_before = sites.app_settings_get(site_id)
    reference = "@Microsoft.KeyVault(SecretUri=https://kv-fleet.vault.azure.net/secrets/api/)"
    sites.app_settings_set(
        site_id,
        {**settings_before, "API_KEY": reference, "DB_PASSWORD": "hunter2", "REGION": "aue"},
    )
    try:
        fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
        readiness_refresh()
    finally:
        sites.app_settings_set(site_id, settings_before)
    row = DrReadiness.objects.get(tenant__slug=tenant["slug"])

    kept = row.standby_recipe["blueprint"]["app_settings"]
    assert kept["API_KEY"] == reference and kept["REGION"] == "aue"
    assert "DB_PASSWORD" not in kept and "hunter2" not in str(row.standby_recipe)
    assert row.standby_left_out == ["APPLICATIONINSIGHTS_CONNECTION_STRING", "DB_PASSWORD"]
    assert row.standby_recipe["blueprint"]["identity_ids"] == [identity]
    # The reference resolves with the site's own identity, which a new site does not share.
    assert any("system-assigned identity" in note for note in row.standby_recipe["notes"])


def test_locally_redundant_backups_with_a_geo_secondary_are_ready_by_its_replication_link(
    azure_emulator, assessed, client, admin_user
):
    # The seed geo-replicates every tenant with locally redundant backups (no geo backup):
    # DR readiness takes the replication-link route; the LRS-without-secondary gap is pinned
    # by the rule tests.
    tenant = seeded(azure_emulator, "backup_local")
    row = DrReadiness.objects.get(tenant__slug=tenant["slug"])

    assert row.geo_backup_at is None
    assert row.ready and row.gaps == []
    assert row.geo_secondary_id.lower() == tenant["geo_secondary_database_id"].lower()
    assert row.route == (
        f"Geo-secondary on {tenant['geo_server_name']}, failover of its replication link."
    )
    client.force_login(admin_user)
    page = client.get(reverse("tenants:detail", args=[tenant["slug"]])).content.decode()
    assert f"Geo-secondary on {tenant['geo_server_name']}" in page


def test_a_tenant_without_a_geo_secondary_takes_the_geo_restore_route(azure_emulator, assessed):
    tenant = next(t for t in azure_emulator.tenants if not t["geo_secondary_database_id"])
    row = DrReadiness.objects.get(tenant__slug=tenant["slug"])

    assert row.geo_secondary_id == ""
    assert row.route == "Geo-restore of the newest geo-replicated backup."


def test_the_key_check_reads_server_keys_by_azures_name():
    kid = "https://kv-fleet.vault.azure.net/keys/tde-acme/0123abcd"
    on_paired = PairedServer(key_names={"kv-fleet_tde-acme_0123abcd"})

    assert _key(kid, on_paired) == (
        "",
        "Key Vault key kv-fleet_tde-acme_0123abcd is a server key on the paired server.",
    )
    gap, _ = _key(kid, PairedServer(key_names={"kv-fleet_tde-acme_older"}))
    assert gap == (
        "The TDE key version kv-fleet_tde-acme_0123abcd is not a server key on the paired "
        "server: a geo-restore there could not open the database."
    )
    assert _key("", PairedServer())[0] == ""  # service-managed: nothing to carry
    assert _key(kid, PairedServer(error="503"))[0] is None  # unknown: the read error is the gap


def test_a_failing_paired_server_read_is_a_gap_not_a_crash(azure_emulator, fleet, control):
    tenant = compliant(azure_emulator)
    geo_server = tenant["geo_server_name"]
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    control("POST", "faults/fail-next", {"operation": "elastic_pools.list_by_server", "count": 100})
    readiness_refresh()

    row = DrReadiness.objects.get(tenant__slug=tenant["slug"])
    assert not row.ready
    assert row.gaps[0].startswith(f"Could not read: paired server {geo_server}:")


def test_the_refresh_is_audited_and_costs_lists_not_calls_per_tenant(assessed, fleet):
    event = AuditEvent.objects.filter(action="dr.readiness_refreshed").get()
    assert event.details["tenants"] == len(fleet) == assessed.tenants
    # Every seeded tenant is ready: the one without a standby on its recorded configuration.
    assert assessed.ready == len(fleet)
    servers = len({t.sql_server_id for t in fleet}) + len({t.geo_sql_server_id for t in fleet})
    subscriptions = len({t.subscription_id for t in fleet})
    # Lists per server and subscription, plus four reads per tenant without a standby (its
    # primary site's configuration).
    without = DrReadiness.objects.filter(standby_site_id="").count()
    assert assessed.azure_calls <= 4 * servers + 2 * subscriptions + 4 * without


def test_the_command_prints_the_count_and_the_gaps(azure_emulator, fleet, control):
    missing = unpaired(azure_emulator, fleet)
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    out = StringIO()
    call_command("dr_readiness", "--gaps", stdout=out)
    text = out.getvalue()
    assert "tenants DR ready" in text
    assert f"{missing.slug}: The catalogue names no paired SQL server" in text


def test_pages_show_readiness_by_tier_with_gaps_in_words(
    azure_emulator, assessed, admin_client, fleet
):
    missing = unpaired(azure_emulator, fleet).slug
    readiness_refresh()
    page = admin_client.get(reverse("dr:readiness"), {"show": "gaps"}).content.decode()
    assert f'data-tenant="{missing}" data-ready="no"' in page
    assert "The catalogue names no paired SQL server in Australia Southeast." in page
    assert f'data-tenant="{compliant(azure_emulator)["slug"]}"' not in page

    tenant_page = admin_client.get(reverse("tenants:detail", args=[missing])).content.decode()
    assert 'id="dr-ready">Gaps' in tenant_page
    assert "The catalogue names no paired SQL server" in tenant_page

    # A tenant without a standby is ready and says how its standby will come about.
    recipe_only = seeded(azure_emulator, "no_standby_site")["slug"]
    everyone = admin_client.get(reverse("dr:readiness")).content.decode()
    assert f'data-tenant="{recipe_only}" data-ready="yes"' in everyone
    assert "created at failover from the primary's configuration (recorded" in everyone
    tenant_page = admin_client.get(reverse("tenants:detail", args=[recipe_only])).content.decode()
    assert "not copied, as they look like secrets: APPLICATIONINSIGHTS_CONNECTION_STRING" in (
        tenant_page
    )

    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    assert 'class="dr-cell"' in dashboard and 'class="dr-ready">Ready<' in dashboard
    assert re.search(r"\d gaps?<", dashboard)


def test_a_posture_refresh_keeps_dr_ready_for_assessed_tenants_and_counts_it(
    azure_emulator, assessed, fleet
):
    missing = unpaired(azure_emulator, fleet).slug
    readiness_refresh()
    fleet_refresh(kind=RefreshRun.Kind.POSTURE, tenants=fleet)

    check = PostureCheck.objects.get(tenant__slug=missing, check_name="dr_ready")
    assert not check.passed
    health = TenantHealth.objects.get(tenant__slug=missing)
    assert (
        health.posture_failures
        == PostureCheck.objects.filter(tenant__slug=missing, passed=False).count()
    )
    assert PostureCheck.objects.filter(
        tenant__slug=compliant(azure_emulator)["slug"], check_name="dr_ready", passed=True
    ).exists()


def test_the_hourly_readiness_task_is_scheduled_after_the_backups_refresh(db):
    from django_celery_beat.models import PeriodicTask

    from portal.celery import app

    task = PeriodicTask.objects.get(task="dr.refresh_readiness")
    assert task.enabled and task.crontab is not None and task.crontab.minute == "17"
    app.loader.import_default_modules()  # what a worker does at start: autodiscovery
    assert "dr.refresh_readiness" in app.tasks


def test_a_regional_outage_keeps_each_last_good_reading_marked_unavailable_since_it_began(
    azure_emulator, assessed, admin_client, control
):
    tenant = compliant(azure_emulator)
    good = DrReadiness.objects.get(tenant__slug=tenant["slug"])
    assert good.ready and good.unavailable_since is None
    control("POST", "faults/outage", {"region": "australiaeast", "active": True})

    readiness_refresh()
    first = DrReadiness.objects.get(tenant__slug=tenant["slug"])
    readiness_refresh()
    second = DrReadiness.objects.get(tenant__slug=tenant["slug"])

    assert (first.ready, first.gaps, first.checked_at) == (True, [], good.checked_at)
    assert first.unavailable_since is not None and first.unavailable_since > good.checked_at
    assert "primary server" in first.unavailable_reason
    assert second.unavailable_since == first.unavailable_since  # dated from the first failure
    assert second.checked_at == good.checked_at
    assert not DrReadiness.objects.filter(gaps__icontains="Could not read").exists()
    check = PostureCheck.objects.get(tenant__slug=tenant["slug"], check_name="dr_ready")
    assert check.passed
    page = admin_client.get(reverse("tenants:detail", args=[tenant["slug"]])).content.decode()
    assert 'id="dr-ready">Ready' in page
    assert "Last good reading shown: Azure unavailable since" in page

    control("POST", "faults/outage", {"region": "australiaeast", "active": False})
    readiness_refresh()
    back = DrReadiness.objects.get(tenant__slug=tenant["slug"])
    assert back.unavailable_since is None and back.unavailable_reason == ""
    assert back.checked_at > good.checked_at and back.ready

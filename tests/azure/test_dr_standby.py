"""portal.azure.sites and the geo-restore functions of portal.azure.dr against the emulator."""

from __future__ import annotations

import pytest

from azure_emulator.state import parse_time
from portal.azure import dr, sites, sql, web
from portal.azure.errors import AzureNotFoundError
from tests.azure.conftest import unique

pytestmark = [pytest.mark.integration]

REFERENCE = "@Microsoft.KeyVault(SecretUri=https://kv-fleetwise.vault.azure.net/secrets/x/)"


def _with(azure_emulator, key_level):
    return next(
        t
        for t in azure_emulator.tenants
        if t["standby_site_id"]
        and t["key_level"] == key_level
        and "stopped_site" not in t["seeded_issues"]
    )


@pytest.fixture
def tenant(azure_emulator):
    return _with(azure_emulator, "database")


@pytest.fixture
def new_site(tenant):
    site_id = tenant["standby_site_id"].rsplit("/", 1)[0] + "/" + unique("app-t")
    yield site_id
    sites.site_delete(site_id)


def test_a_site_is_created_with_settings_updated_probed_and_deleted(tenant, new_site):
    made = sites.site_create_or_update(
        site_id=new_site,
        location="australiasoutheast",
        server_farm_id=tenant["standby_plan_id"],
        tags={"fleetwise-tenant": tenant["slug"]},
        app_settings={"FLEETWISE_SECRET": REFERENCE},
        connection_strings={"FleetwiseDb": sites.ConnectionString("Server=tcp:a", "SQLAzure")},
    )

    assert made.is_running and made.location == "Australia Southeast"
    assert sites.app_settings_get(new_site) == {"FLEETWISE_SECRET": REFERENCE}
    assert sites.is_key_vault_reference(sites.app_settings_get(new_site)["FLEETWISE_SECRET"])
    assert sites.connection_strings_get(new_site) == {
        "FleetwiseDb": sites.ConnectionString("Server=tcp:a", "SQLAzure")
    }
    probe = sites.site_probe(new_site)
    assert probe.answers, probe

    sites.app_settings_set(new_site, {"ONLY": "this"})
    sites.connection_strings_set(new_site, {})
    web.site_stop(new_site)

    assert sites.app_settings_get(new_site) == {"ONLY": "this"}
    assert sites.connection_strings_get(new_site) == {}
    stopped = sites.site_probe(new_site)
    assert not stopped.answers and stopped.availability == "Unavailable"
    assert "stopped" in stopped.words()
    assert sites.site_delete(new_site) is True
    assert sites.site_delete(new_site) is False
    with pytest.raises(AzureNotFoundError):
        web.site_get(new_site)


def test_the_seeded_standby_is_stopped_and_does_not_answer(tenant):
    probe = sites.site_probe(tenant["standby_site_id"])

    assert probe.state == "Stopped" and not probe.answers


def test_the_recoverable_database_gives_the_geo_backup_time_and_its_key_versions(tenant):
    geo = dr.recoverable_database(tenant["sql_server_id"], tenant["database_name"])

    assert geo.database_name == tenant["database_name"]
    assert "/recoverableDatabases/" in geo.id
    assert geo.last_backup_at is not None and geo.last_backup_at.tzinfo is not None
    assert geo.key_uris and all(tenant["key_name"] in uri for uri in geo.key_uris)
    with pytest.raises(AzureNotFoundError):
        dr.recoverable_database(tenant["sql_server_id"], "no-such-db")


def test_a_geo_restore_lands_in_the_paired_pool_under_the_given_name_with_the_tenants_key(
    tenant, azure_emulator
):
    live = sql.database_get(tenant["database_id"])
    geo = dr.recoverable_database(tenant["sql_server_id"], tenant["database_name"])
    pool_id = (
        f"{tenant['elastic_pool_id'].replace(tenant['sql_server_id'], tenant['geo_server_id'])}-dr"
    )
    target_id = f"{tenant['geo_server_id']}/databases/{unique(live.name + '-drill')}"

    token = dr.geo_restore_begin(
        recoverable=geo,
        target_id=target_id,
        location="australiasoutheast",
        elastic_pool_id=pool_id,
        tags={"fleetwise-tenant": tenant["slug"], "fleetwise-role": "dr-drill"},
        identity_ids=live.identity_ids,
        encryption_protector=live.encryption_protector,
    )
    try:
        outcome = sql.database_restore_wait(
            target_id=target_id, continuation_token=token, timeout_seconds=30
        )
        assert outcome.done and outcome.succeeded, outcome
        copy = sql.database_get(target_id)
        assert copy.is_online
        assert copy.elastic_pool_id.lower() == pool_id.lower()
        assert copy.tags["fleetwise-role"] == "dr-drill"
        assert (copy.encryption_protector or "") == (live.encryption_protector or "")
        lineage = azure_emulator.control("GET", f"resource?id={target_id}")["_meta"]["lineage"]
        assert lineage["create_mode"] == "Recovery"
        assert lineage["recoverable_database_id"].lower() == geo.id.lower()
        # The copy holds the data as of the geo backup (about an hour behind), not as of now.
        assert parse_time(lineage["restore_point_in_time"]) == geo.last_backup_at
    finally:
        sql.database_delete_begin(target_id)

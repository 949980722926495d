"""An inaccessible TDE protector through azure-mgmt-sql and azure-keyvault-keys: a database whose
key version is disabled or deleted goes Inaccessible after about ten minutes; if the key comes
back within 30 minutes of that the database heals by itself within the hour, otherwise only
once the key is usable again and the protector is revalidated (docs/azure-behaviours.md,
"Key Vault soft-delete and TDE keys", "Self-healing of an Inaccessible database")."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError

from azure_emulator.testing import RunningEmulator
from tests.emulator import provider_clients as clients

pytestmark = pytest.mark.integration

MINUTES = 60


def _where(tenant):
    return tenant["sql_resource_group"], tenant["sql_server_name"]


def _key_of(kid):
    name, version = kid.rstrip("/").split("/keys/", 1)[1].split("/")
    return name, version


def _database_key_tenant(fresh):
    for tenant in fresh.tenants:
        body = fresh.control("GET", f"resource?id={tenant['database_id']}")
        if (
            body["properties"].get("encryptionProtector")
            and body["properties"]["status"] == "Online"
        ):
            return tenant, body["properties"]["encryptionProtector"]
    pytest.skip("no seeded tenant with a database-level key")


def _status(client, tenant):
    return client.databases.get(*_where(tenant), tenant["database_name"]).status


def _inaccessible_names(client, tenant):
    return {d.name for d in client.databases.list_inaccessible_by_server(*_where(tenant))}


def test_a_disabled_key_version_makes_the_database_inaccessible_until_enabled_and_revalidated(
    fresh, sql_client
):
    tenant, kid = _database_key_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    keys = clients.keys(fresh)
    name, version = _key_of(kid)

    keys.update_key_properties(name, version, enabled=False)
    fresh.control("POST", "clock", {"advance_seconds": 5 * MINUTES})
    assert _status(client, tenant) == "Online"
    fresh.control("POST", "clock", {"advance_seconds": 6 * MINUTES})
    assert _status(client, tenant) == "Inaccessible"
    assert tenant["database_name"] in _inaccessible_names(client, tenant)

    protectors = client.database_encryption_protectors
    with pytest.raises(HttpResponseError) as caught:
        protectors.begin_revalidate(*_where(tenant), tenant["database_name"], "current").result()
    assert caught.value.error.code == "AzureKeyVaultKeyDisabled"
    keys.update_key_properties(name, version, enabled=True)
    assert _status(client, tenant) == "Inaccessible"

    protectors.begin_revalidate(*_where(tenant), tenant["database_name"], "current").result()

    assert _status(client, tenant) == "Online"
    assert tenant["database_name"] not in _inaccessible_names(client, tenant)


def test_a_deleted_key_makes_the_database_inaccessible_until_recovered_and_revalidated(
    fresh, sql_client
):
    tenant, kid = _database_key_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    keys = clients.keys(fresh)
    name, _ = _key_of(kid)

    keys.begin_delete_key(name).result()
    fresh.control("POST", "clock", {"advance_seconds": 11 * MINUTES})
    assert _status(client, tenant) == "Inaccessible"
    protectors = client.database_encryption_protectors
    with pytest.raises(HttpResponseError) as caught:
        protectors.begin_revalidate(*_where(tenant), tenant["database_name"], "current").result()
    assert caught.value.error.code == "AzureKeyVaultKeyNameNotFound"

    keys.begin_recover_deleted_key(name).result()
    protectors.begin_revalidate(*_where(tenant), tenant["database_name"], "current").result()

    assert _status(client, tenant) == "Online"


def _advance(fresh, minutes):
    fresh.control("POST", "clock", {"advance_seconds": minutes * MINUTES})


def test_a_key_enabled_within_thirty_minutes_of_the_outage_heals_the_database_within_the_hour(
    fresh, sql_client
):
    tenant, kid = _database_key_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    keys = clients.keys(fresh)
    name, version = _key_of(kid)

    keys.update_key_properties(name, version, enabled=False)
    _advance(fresh, 11)
    assert _status(client, tenant) == "Inaccessible"
    _advance(fresh, 28)  # 29 minutes after the database went Inaccessible (39 after the loss)
    keys.update_key_properties(name, version, enabled=True)
    _advance(fresh, 59)
    assert _status(client, tenant) == "Inaccessible"
    _advance(fresh, 2)

    assert _status(client, tenant) == "Online"
    assert tenant["database_name"] not in _inaccessible_names(client, tenant)


def test_a_key_enabled_after_thirty_minutes_of_outage_leaves_the_database_down_until_revalidated(
    fresh, sql_client
):
    tenant, kid = _database_key_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    keys = clients.keys(fresh)
    name, version = _key_of(kid)

    keys.update_key_properties(name, version, enabled=False)
    _advance(fresh, 11)
    assert _status(client, tenant) == "Inaccessible"
    _advance(fresh, 31)  # 32 minutes after the database went Inaccessible
    keys.update_key_properties(name, version, enabled=True)
    _advance(fresh, 3 * 60)
    assert _status(client, tenant) == "Inaccessible"

    client.database_encryption_protectors.begin_revalidate(
        *_where(tenant), tenant["database_name"], "current"
    ).result()

    assert _status(client, tenant) == "Online"
    _advance(fresh, 60)
    assert _status(client, tenant) == "Online"


def test_a_deleted_key_recovered_within_thirty_minutes_heals_the_database_by_itself(
    fresh, sql_client
):
    tenant, kid = _database_key_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    keys = clients.keys(fresh)
    name, _ = _key_of(kid)

    keys.begin_delete_key(name).result()
    _advance(fresh, 11)
    assert _status(client, tenant) == "Inaccessible"
    keys.begin_recover_deleted_key(name).result()
    _advance(fresh, 61)

    assert _status(client, tenant) == "Online"


def test_a_short_outage_nobody_looked_at_still_takes_the_database_down_until_it_heals(
    fresh, sql_client
):
    tenant, kid = _database_key_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    keys = clients.keys(fresh)
    name, version = _key_of(kid)

    keys.update_key_properties(name, version, enabled=False)
    _advance(fresh, 20)
    keys.update_key_properties(name, version, enabled=True)  # unread while the key was away
    assert _status(client, tenant) == "Inaccessible"
    _advance(fresh, 61)

    assert _status(client, tenant) == "Online"


def test_a_long_outage_nobody_looked_at_needs_a_revalidation_once(fresh, sql_client):
    tenant, kid = _database_key_tenant(fresh)
    client = sql_client(tenant["subscription_id"])
    keys = clients.keys(fresh)
    name, version = _key_of(kid)

    keys.update_key_properties(name, version, enabled=False)
    _advance(fresh, 45)
    keys.update_key_properties(name, version, enabled=True)
    _advance(fresh, 2 * 60)
    assert _status(client, tenant) == "Inaccessible"
    client.database_encryption_protectors.begin_revalidate(
        *_where(tenant), tenant["database_name"], "current"
    ).result()

    _advance(fresh, 60)
    assert _status(client, tenant) == "Online"


def test_a_database_with_a_usable_key_is_left_online_however_much_time_passes(fresh, sql_client):
    tenant, _ = _database_key_tenant(fresh)
    client = sql_client(tenant["subscription_id"])

    fresh.control("POST", "clock", {"advance_seconds": 3 * 24 * 60 * MINUTES})

    assert _status(client, tenant) == "Online"
    assert _inaccessible_names(client, tenant) == set()


@pytest.fixture(scope="module")
def fleet_of_20():
    """The legacy server, whose protector is a server-level key, needs a fleet of 20."""
    with RunningEmulator(fleet_size=20, lro_seconds=1) as running:
        yield running


def test_the_server_protector_key_deleted_takes_its_databases_down_until_server_revalidation(
    fleet_of_20,
):
    from azure.mgmt.sql import SqlManagementClient

    server_tenants = [t for t in fleet_of_20.tenants if t.get("key_level") == "server"]
    assert len(server_tenants) >= 2
    tenant = server_tenants[0]
    client = SqlManagementClient(
        fleet_of_20.credential(),
        tenant["subscription_id"],
        base_url=fleet_of_20.arm_endpoint,
        connection_verify=fleet_of_20.ca_bundle,
        polling_interval=0.2,
    )
    protector = client.encryption_protectors.get(*_where(tenant), "current")
    assert protector.server_key_type == "AzureKeyVault"
    name, _ = _key_of(protector.uri)
    keys = clients.keys(fleet_of_20)

    keys.begin_delete_key(name).result()
    fleet_of_20.control("POST", "clock", {"advance_seconds": 11 * MINUTES})
    assert {t["database_name"] for t in server_tenants} <= _inaccessible_names(client, tenant)
    stored = fleet_of_20.control("GET", f"resource?id={tenant['database_id']}")["properties"][
        "status"
    ]
    assert stored == "Inaccessible"

    keys.begin_recover_deleted_key(name).result()
    client.encryption_protectors.begin_revalidate(*_where(tenant), "current").result()

    assert _inaccessible_names(client, tenant) == set()
    assert all(_status(client, t) == "Online" for t in server_tenants)

"""Active geo-replication through azure-mgmt-sql: creating a geo-secondary (createMode
Secondary), replication links on both sides, planned and forced failover, deletes, and regional
outages (docs/azure-behaviours.md, "Active geo-replication")."""

from __future__ import annotations

import pytest
from azure.core.exceptions import HttpResponseError, ResourceExistsError
from azure.mgmt.sql.models import Database, DatabaseIdentity, DatabaseKey, DatabaseUserIdentity

from tests.emulator import provider_clients as clients


def _where(resource_id):
    """(resource group, server, database) of a database id."""
    parts = resource_id.split("/")
    return parts[4], parts[8], parts[10]


def _unreplicated(fresh, *, cmk):
    """A seeded tenant without a geo-secondary, with or without a database-level key."""
    for tenant in fresh.tenants:
        body = fresh.control("GET", f"resource?id={tenant['database_id']}")
        if (
            not tenant["geo_secondary_database_id"]
            and bool(body["properties"].get("encryptionProtector")) is cmk
        ):
            return tenant, body
    pytest.skip(f"no unreplicated seeded tenant with cmk={cmk}")


def _replicated(fresh):
    return next(t for t in fresh.tenants if t["geo_secondary_database_id"])


def _secondary_request(tenant, **extra):
    return Database(
        location="australiasoutheast",
        create_mode="Secondary",
        source_database_id=tenant["database_id"],
        secondary_type="Geo",
        **extra,
    )


def _create_secondary(client, tenant, name=None, **extra):
    group, server = tenant["geo_server_id"].split("/")[4], tenant["geo_server_name"]
    return client.databases.begin_create_or_update(
        group, server, name or tenant["database_name"], _secondary_request(tenant, **extra)
    )


def _links(client, database_id):
    return list(client.replication_links.list_by_database(*_where(database_id)))


def _secondary_id(tenant):
    return f"{tenant['geo_server_id']}/databases/{tenant['database_name']}"


# -- creating a geo-secondary ------------------------------------------------------------------------


def test_a_geo_secondary_is_seeded_then_both_databases_list_one_caught_up_link(fresh, sql_client):
    tenant, _ = _unreplicated(fresh, cmk=False)
    client = sql_client(tenant["subscription_id"])

    secondary = _create_secondary(client, tenant).result()

    assert secondary.status == "Online"
    assert secondary.secondary_type == "Geo"
    assert secondary.location == "australiasoutheast"
    [on_primary] = _links(client, tenant["database_id"])
    [on_secondary] = _links(client, secondary.id)
    assert on_primary.name == on_secondary.name
    assert (on_primary.role, on_primary.partner_role) == ("Primary", "Secondary")
    assert (on_secondary.role, on_secondary.partner_role) == ("Secondary", "Primary")
    assert on_primary.partner_database_id.lower() == secondary.id.lower()
    assert on_primary.partner_server == tenant["geo_server_name"]
    assert on_primary.partner_location == "australiasoutheast"
    assert on_secondary.partner_server == tenant["sql_server_name"]
    assert (on_primary.replication_state, on_primary.percent_complete) == ("CATCH_UP", 100)
    assert on_primary.link_type == "GEO"
    assert on_primary.is_termination_allowed is True
    got = client.replication_links.get(*_where(secondary.id), on_secondary.name)
    assert got.id.lower() == on_secondary.id.lower()
    by_server = client.replication_links.list_by_server(
        tenant["geo_server_id"].split("/")[4], tenant["geo_server_name"]
    )
    assert on_secondary.name in {link.name for link in by_server}


def test_while_the_secondary_is_seeded_the_link_says_seeding_and_cannot_fail_over(
    fresh, sql_client
):
    tenant, _ = _unreplicated(fresh, cmk=False)
    client = sql_client(tenant["subscription_id"])
    with clients.quick_lro(fresh, "databases.create_or_update", seconds=60):
        poller = _create_secondary(client, tenant)
        [link] = _links(client, _secondary_id(tenant))
        fresh.control("POST", "clock", {"advance_seconds": 30})
        [halfway] = _links(client, _secondary_id(tenant))

        with pytest.raises(HttpResponseError) as caught:
            client.replication_links.begin_failover(*_where(_secondary_id(tenant)), link.name)

        fresh.control("POST", "clock", {"advance_seconds": 31})
        assert poller.result().status == "Online"

    assert (link.replication_state, link.is_termination_allowed) == ("SEEDING", False)
    assert link.percent_complete < halfway.percent_complete < 100
    assert caught.value.error.code == "IncorrectReplicationLinkState"
    [after] = _links(client, _secondary_id(tenant))
    assert after.replication_state == "CATCH_UP"


def test_the_secondary_must_have_its_primarys_name(fresh, sql_client):
    tenant, _ = _unreplicated(fresh, cmk=False)
    client = sql_client(tenant["subscription_id"])

    with pytest.raises(HttpResponseError) as caught:
        _create_secondary(client, tenant, name=tenant["database_name"] + "-geo")

    assert caught.value.error.code == "InvalidGeoReplicationDatabaseName"
    assert _links(client, tenant["database_id"]) == []


def test_a_secondary_on_the_primarys_own_server_is_refused(fresh, sql_client):
    tenant, _ = _unreplicated(fresh, cmk=False)
    client = sql_client(tenant["subscription_id"])

    with pytest.raises(ResourceExistsError) as caught:
        client.databases.begin_create_or_update(
            *_where(tenant["database_id"]),
            Database(
                location="australiaeast",
                create_mode="Secondary",
                source_database_id=tenant["database_id"],
            ),
        )
    # Same name on the same server: the name is taken before anything else is checked.
    assert caught.value.error.code == "RemoteDatabaseExists"


def test_a_second_secondary_on_a_server_that_already_holds_one_is_refused(fresh, sql_client):
    tenant = _replicated(fresh)
    client = sql_client(tenant["subscription_id"])

    with pytest.raises(ResourceExistsError) as caught:
        _create_secondary(client, tenant)

    assert caught.value.error.code == "RemoteDatabaseExists"


def test_a_secondary_of_a_missing_database_is_refused(fresh, sql_client):
    tenant, _ = _unreplicated(fresh, cmk=False)
    client = sql_client(tenant["subscription_id"])
    missing = dict(tenant, database_id=tenant["database_id"] + "-gone")

    with pytest.raises(HttpResponseError) as caught:
        _create_secondary(client, missing, name=tenant["database_name"] + "-gone")

    assert caught.value.error.code == "SourceDatabaseNotFound"


def test_a_database_level_key_must_reach_the_secondary_or_nothing_is_created(fresh, sql_client):
    tenant, body = _unreplicated(fresh, cmk=True)
    client = sql_client(tenant["subscription_id"])
    protector = body["properties"]["encryptionProtector"]
    identity = DatabaseIdentity(
        type="UserAssigned",
        user_assigned_identities={
            i: DatabaseUserIdentity() for i in body["identity"]["userAssignedIdentities"]
        },
    )

    geo_group = tenant["geo_server_id"].split("/")[4]
    # The seed puts the tenant's key versions on the geo server too: take this one away.
    [held] = [
        k
        for k in client.server_keys.list_by_server(geo_group, tenant["geo_server_name"])
        if (k.uri or "").lower() == protector.lower()
    ]
    client.server_keys.begin_delete(geo_group, tenant["geo_server_name"], held.name).result()

    with pytest.raises(HttpResponseError) as caught:
        _create_secondary(client, tenant)
    refused_links = _links(client, tenant["database_id"])
    secondary = _create_secondary(
        client,
        tenant,
        identity=identity,
        keys_property={protector: DatabaseKey()},
        encryption_protector=protector,
    ).result()

    assert caught.value.error.code == "SameKeyMaterialNotFoundOnRemoteServer"
    assert refused_links == []
    assert secondary.encryption_protector == protector
    assert len(_links(client, tenant["database_id"])) == 1


def test_the_seeded_geo_secondaries_have_links(fresh, sql_client):
    tenant = _replicated(fresh)
    client = sql_client(tenant["subscription_id"])

    [link] = _links(client, tenant["database_id"])

    assert link.partner_database_id.lower() == tenant["geo_secondary_database_id"].lower()
    assert (link.role, link.replication_state) == ("Primary", "CATCH_UP")


# -- failover ----------------------------------------------------------------------------------------


def test_a_planned_failover_swaps_the_roles(fresh, sql_client):
    tenant = _replicated(fresh)
    client = sql_client(tenant["subscription_id"])
    secondary_id = tenant["geo_secondary_database_id"]
    [link] = _links(client, secondary_id)

    result = client.replication_links.begin_failover(*_where(secondary_id), link.name).result()

    assert (result.role, result.partner_role) == ("Primary", "Secondary")
    assert result.name == link.name
    assert client.databases.get(*_where(secondary_id)).secondary_type is None
    assert client.databases.get(*_where(tenant["database_id"])).secondary_type == "Geo"
    [old_primary_side] = _links(client, tenant["database_id"])
    assert old_primary_side.role == "Secondary"


def test_a_planned_failover_issued_on_the_primary_is_refused(fresh, sql_client):
    tenant = _replicated(fresh)
    client = sql_client(tenant["subscription_id"])
    [link] = _links(client, tenant["database_id"])

    with pytest.raises(HttpResponseError) as caught:
        client.replication_links.begin_failover(*_where(tenant["database_id"]), link.name)

    assert caught.value.error.code == "GeoReplicationDatabaseNotSecondary"
    assert _links(client, tenant["database_id"])[0].role == "Primary"


def test_a_link_name_that_is_not_a_guid_is_refused(fresh, sql_client):
    tenant = _replicated(fresh)
    client = sql_client(tenant["subscription_id"])

    with pytest.raises(HttpResponseError) as caught:
        client.replication_links.get(*_where(tenant["database_id"]), "not-a-guid")

    assert caught.value.error.code == "ReplicationLinksReplicationLinkNameIsInvalid"


def test_during_an_outage_of_the_primary_only_a_forced_failover_works(fresh, sql_client):
    tenant = _replicated(fresh)
    client = sql_client(tenant["subscription_id"], retry_total=0)
    secondary_id = tenant["geo_secondary_database_id"]
    [link] = _links(client, secondary_id)

    with clients.regional_outage(fresh):
        [during] = _links(client, secondary_id)
        with pytest.raises(HttpResponseError) as planned:
            client.replication_links.begin_failover(*_where(secondary_id), link.name)
        with pytest.raises(HttpResponseError) as primary_side:
            _links(client, tenant["database_id"])
        forced = client.replication_links.begin_failover_allow_data_loss(
            *_where(secondary_id), link.name
        ).result()
        now_primary = client.databases.get(*_where(secondary_id))

    assert during.replication_state == "SUSPENDED"
    assert planned.value.error.code == "PlannedFailoverTimedOut"
    assert primary_side.value.status_code == 503
    assert forced.role == "Primary"
    assert now_primary.secondary_type is None
    # Once its region is back the old primary has rejoined as the secondary.
    [rejoined] = _links(client, tenant["database_id"])
    assert (rejoined.role, rejoined.replication_state) == ("Secondary", "CATCH_UP")
    assert client.databases.get(*_where(tenant["database_id"])).secondary_type == "Geo"


# -- deletes -----------------------------------------------------------------------------------------


def test_deleting_the_secondary_removes_the_link_and_frees_the_primary(fresh, sql_client):
    tenant = _replicated(fresh)
    client = sql_client(tenant["subscription_id"])

    client.databases.begin_delete(*_where(tenant["geo_secondary_database_id"])).result()

    assert _links(client, tenant["database_id"]) == []
    client.databases.begin_delete(*_where(tenant["database_id"])).result()


def test_deleting_a_primary_with_a_secondary_is_refused(fresh, sql_client):
    tenant = _replicated(fresh)
    client = sql_client(tenant["subscription_id"])

    with pytest.raises(HttpResponseError) as caught:
        client.databases.begin_delete(*_where(tenant["database_id"]))

    assert caught.value.error.code == "DatabaseIsGeoPrimary"
    assert len(_links(client, tenant["database_id"])) == 1

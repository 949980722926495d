"""A pool's per-database metrics through azure-mgmt-monitor: split by DatabaseResourceId, one
series per member database, matching that database's own metric."""

from __future__ import annotations

from tests.emulator import provider_clients as clients


def test_database_cpu_of_a_pool_splits_by_database_resource_id(emulator):
    tenant = clients.healthy_tenant(emulator, 2)
    client = clients.monitor(emulator, tenant["subscription_id"])
    members = {
        t["database_id"].lower()
        for t in emulator.tenants
        if t["elastic_pool_id"].lower() == tenant["elastic_pool_id"].lower()
    }

    split = client.metrics.list(
        tenant["elastic_pool_id"],
        timespan="PT3H",
        interval="PT1H",
        metricnames="database_cpu_percent",
        filter="DatabaseResourceId eq '*'",
    )
    whole = client.metrics.list(
        tenant["elastic_pool_id"],
        timespan="PT3H",
        interval="PT1H",
        metricnames="database_cpu_percent",
    )
    own = client.metrics.list(
        tenant["database_id"], timespan="PT3H", interval="PT1H", metricnames="cpu_percent"
    )

    series = split.value[0].timeseries
    ids = {s.metadatavalues[0].value.lower() for s in series}
    assert {m.name.value for s in series for m in s.metadatavalues} == {"DatabaseResourceId"}
    assert ids == members
    mine = next(
        s for s in series if s.metadatavalues[0].value.lower() == tenant["database_id"].lower()
    )
    assert [d.average for d in mine.data] == [d.average for d in own.value[0].timeseries[0].data]
    assert len(whole.value[0].timeseries) == 1
    assert whole.value[0].timeseries[0].metadatavalues == []


def test_one_database_of_the_pool_can_be_asked_for_by_id(emulator):
    tenant = clients.healthy_tenant(emulator, 2)
    client = clients.monitor(emulator, tenant["subscription_id"])

    result = client.metrics.list(
        tenant["elastic_pool_id"],
        timespan="PT1H",
        interval="PT1H",
        metricnames="database_storage_used,database_dtu_consumption_percent",
        filter=f"DatabaseResourceId eq '{tenant['database_id']}'",
    )

    for metric in result.value:
        assert [s.metadatavalues[0].value for s in metric.timeseries] == [tenant["database_id"]]


def test_the_pool_declares_the_database_dimension_on_its_per_database_metrics(emulator):
    tenant = clients.healthy_tenant(emulator, 2)
    client = clients.monitor(emulator, tenant["subscription_id"])

    definitions = {
        d.name.value: d for d in client.metric_definitions.list(tenant["elastic_pool_id"])
    }

    assert [d.value for d in definitions["database_cpu_percent"].dimensions] == [
        "DatabaseResourceId"
    ]
    assert not definitions["cpu_percent"].dimensions

"""dr.steps through the emulator, in a kind of the test's own driven in process: a tenant's
database geo-restored into the paired pool, its standby pointed at it, started, verified, and
put back; a geo-restore whose first run died before recording it is not begun twice."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest

from dr import steps
from dr.models import DrReadiness
from dr.services import readiness_refresh
from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from operations.engine import operation_execute
from operations.kinds import OperationKind, Step, registered
from operations.models import Operation
from operations.services import operation_request
from portal.azure import replication, sites, sql
from portal.roles import REQUEST_RESTORE
from tests.drive import drive
from tests.monitoring.conftest import compliant
from tests.request_log import request_marker, requests_since

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

KIND = "test_dr_bring_up"


def _target(context):
    return context.parameters(steps.StandbyTarget)


def _plan(operation):
    return [
        Step(
            "restore",
            "Geo-restore",
            lambda c: steps.geo_restore(c, _target(c), tags={"fleetwise-role": "dr-test"}),
        ),
        Step("configure", "Configure", lambda c: steps.configure_app(c, _target(c))),
        Step("start", "Start", lambda c: steps.start_app(c, _target(c))),
        Step("verify", "Verify", lambda c: steps.verify(c, _target(c))),
        Step("settings_back", "Settings back", lambda c: steps.restore_app_settings(c, _target(c))),
        Step("state_back", "State back", lambda c: steps.restore_app_state(c, _target(c))),
    ]


BRING_UP = OperationKind(
    name=KIND,
    label="Bring up a standby (test)",
    permission=REQUEST_RESTORE,
    needs_approval=lambda: False,
    plan=_plan,
    parameters=steps.StandbyTarget,
)


@pytest.fixture
def ready(azure_emulator, fleet, control):
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    readiness_refresh()
    tenant = compliant(azure_emulator)
    return next(t for t in fleet if t.slug == tenant["slug"])


@pytest.fixture
def target(ready):
    name = f"{ready.database_id.rsplit('/', 1)[-1]}-t-{uuid.uuid4().hex[:6]}"
    made = steps.standby_target(
        tenant=ready,
        readiness=DrReadiness.objects.get(tenant=ready),
        target_name=name,
        live=sql.database_get(ready.database_id),
    )
    before = sites.connection_strings_get(made.standby_site_id)
    yield made
    sites.connection_strings_set(made.standby_site_id, before)
    sql.database_delete_begin(made.target_id)


def _request(tenant, target, support):
    return operation_request(
        kind=KIND,
        tenant=tenant,
        requested_by=support,
        reason="test",
        parameters=target,
        enqueue=lambda pk, c: None,
    )


def test_the_steps_bring_the_standby_up_on_the_restored_database_and_put_it_back(
    ready, target, support
):
    strings_before = sites.connection_strings_get(target.standby_site_id)
    with registered(BRING_UP):
        operation = _request(ready, target, support)
        drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.steps.values("key", "message")
    copy = sql.database_get(target.target_id)
    assert copy.is_online and copy.elastic_pool_id.lower() == target.elastic_pool_id.lower()
    assert copy.tags == {"fleetwise-role": "dr-test"}
    assert (copy.encryption_protector or "") == (target.encryption_protector or "")
    checkpoint = operation.checkpoint
    assert checkpoint[steps.GEO_BACKUP_AT] and checkpoint[steps.HEALTHY_AT]
    assert checkpoint[steps.STANDBY_BEFORE]["state"] == "Stopped"
    verify = operation.steps.get(key="verify")
    assert "answers its health check" in verify.message and "is online" in verify.message
    # Put back: stopped, and the connection strings exactly as before.
    assert sites.site_probe(target.standby_site_id).state == "Stopped"
    assert sites.connection_strings_get(target.standby_site_id) == strings_before


def test_configure_points_the_standby_at_the_restored_database_by_managed_identity(target):
    value = steps.connection_value(target)

    assert f"Initial Catalog={target.target_name};" in value
    assert f"Server=tcp:{target.server_host},1433;" in value
    assert "Managed Identity" in value and "Password" not in value


def test_a_restore_whose_first_run_died_before_recording_it_is_not_begun_again(
    azure_emulator, ready, target, support
):
    marker = request_marker(azure_emulator)
    with registered(BRING_UP):
        operation = _request(ready, target, support)
        operation_execute(operation_id=operation.pk, enqueue=lambda pk, c: None)
        operation.refresh_from_db()
        assert operation.checkpoint.get(steps.RESTORE_BEGUN)
        # The run died after Azure accepted the restore but before the checkpoint was written.
        recorded = operation.checkpoint
        Operation.objects.filter(pk=operation.pk).update(
            checkpoint={steps.GEO_BACKUP_AT: recorded[steps.GEO_BACKUP_AT]},
            lease_id="",
            heartbeat_at=None,
        )
        drive(operation)

    assert operation.state == Operation.State.SUCCEEDED
    creates = [
        r
        for r in requests_since(azure_emulator, marker)
        if r["method"] == "PUT" and r["path"].lower().endswith(f"/databases/{target.target_name}")
    ]
    assert len(creates) == 1
    assert "geo-restored" in operation.steps.get(key="restore").message
    assert operation.checkpoint[steps.GEO_BACKUP_AT] == recorded[steps.GEO_BACKUP_AT]


# -- failover of a replication link --------------------------------------------------------------

LINK_KIND = "test_dr_link_failover"


@dataclass(frozen=True)
class LinkTarget:
    secondary_id: str


LINK_FAILOVER = OperationKind(
    name=LINK_KIND,
    label="Fail a replication link over (test)",
    permission=REQUEST_RESTORE,
    needs_approval=lambda: False,
    plan=lambda operation: [
        Step(
            "failover",
            "Fail over",
            lambda c: steps.link_failover(c, c.parameters(LinkTarget).secondary_id),
        )
    ],
    parameters=LinkTarget,
)


@pytest.fixture
def replicated(azure_emulator, fleet, control):
    """A seeded geo-replicated tenant and its secondary id; Azure reseeded afterwards (the
    test swaps the link's roles)."""
    entry = next(t for t in azure_emulator.tenants if t["geo_secondary_database_id"])
    yield next(t for t in fleet if t.slug == entry["slug"]), entry["geo_secondary_database_id"]
    azure_emulator.control("POST", "lro", {"operation": "replication_links.*", "seconds": 1})
    azure_emulator.reset()


def test_a_link_failover_whose_first_run_died_before_recording_it_is_not_begun_again(
    azure_emulator, replicated, support
):
    tenant, secondary_id = replicated
    # Long enough that the resumed run finds Azure's failover still running, even on a
    # loaded machine (4 s was seen to end before the resumed run looked).
    azure_emulator.control("POST", "lro", {"operation": "replication_links.*", "seconds": 10})
    with registered(LINK_FAILOVER):
        operation = operation_request(
            kind=LINK_KIND,
            tenant=tenant,
            requested_by=support,
            reason="test",
            parameters=LinkTarget(secondary_id),
            enqueue=lambda pk, c: None,
        )
        operation_execute(operation_id=operation.pk, enqueue=lambda pk, c: None)
        operation.refresh_from_db()
        assert operation.checkpoint[steps.LINK_FAILOVER]["token"]
        # The run died after Azure accepted the failover but before the token was written.
        Operation.objects.filter(pk=operation.pk).update(
            checkpoint={steps.LINK_FAILOVER_BEGUN: True}, lease_id="", heartbeat_at=None
        )
        drive(operation)

    assert operation.state == Operation.State.SUCCEEDED, operation.steps.values("message")
    accepted = [
        row
        for row in azure_emulator.control("GET", "operations")["operations"]
        if row["operation"] == "replication_links.failover_allow_data_loss"
        and row["resource_id"].lower() == secondary_id.lower()
    ]
    assert len(accepted) == 1
    [link] = replication.replication_links(secondary_id)
    assert link.role == "Primary"
    assert "is now the primary" in operation.steps.get(key="failover").message


def test_a_link_failover_of_a_database_without_a_link_fails_in_words(
    azure_emulator, fleet, support
):
    entry = next(t for t in azure_emulator.tenants if not t["geo_secondary_database_id"])
    tenant = next(t for t in fleet if t.slug == entry["slug"])
    with registered(LINK_FAILOVER):
        operation = operation_request(
            kind=LINK_KIND,
            tenant=tenant,
            requested_by=support,
            reason="test",
            parameters=LinkTarget(tenant.database_id),
            enqueue=lambda pk, c: None,
        )
        drive(operation)

    assert operation.state == Operation.State.FAILED
    assert operation.error_code == "NoReplicationLink"
    assert "nothing was changed" in operation.error_message

"""When a failover child looks at its running geo-restore again: the siblings already restored
say when this one should end; it looks then (never later than the usual interval), and at
short, growing intervals while it overruns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from dr.restore_pace import MIN_LOOK_SECONDS, next_look_seconds, sibling_restore_seconds
from operations.context import StepContext
from operations.models import Operation, OperationStep
from tests.factories import TenantFactory, UserFactory

USUAL = 15.0


def test_without_an_expectation_it_looks_at_the_usual_interval():
    assert next_look_seconds(elapsed=3.0, expected=None, longest=USUAL) == USUAL


def test_before_the_expected_end_it_sleeps_until_then_but_never_past_the_usual_interval():
    assert next_look_seconds(elapsed=12.0, expected=20.0, longest=USUAL) == 8.0
    assert next_look_seconds(elapsed=1.0, expected=20.0, longest=USUAL) == USUAL


def test_past_the_expected_end_it_looks_sooner_and_backs_off_as_the_overrun_grows():
    just_past = next_look_seconds(elapsed=20.1, expected=20.0, longest=USUAL)
    assert just_past == pytest.approx(0.4)  # 2 % of the expected length
    assert next_look_seconds(elapsed=26.0, expected=20.0, longest=USUAL) == pytest.approx(3.0)
    assert next_look_seconds(elapsed=200.0, expected=20.0, longest=USUAL) == USUAL


def test_a_short_expectation_never_makes_it_look_more_often_than_the_floor():
    assert next_look_seconds(elapsed=1.0, expected=1.0, longest=USUAL) == MIN_LOOK_SECONDS


def test_an_hour_long_restore_is_looked_at_no_more_often_than_usual_once_it_overruns():
    assert next_look_seconds(elapsed=3601.0, expected=3600.0, longest=USUAL) == USUAL


def _child(
    parent,
    tenant,
    *,
    restore_seconds=None,
    state=OperationStep.State.SUCCEEDED,
    label="Geo-restore the database into the paired pool",
):
    child = Operation.objects.create(
        kind="tenant_failover",
        subject_id=tenant.slug,
        subject_label=tenant.display_name,
        tenant=tenant,
        parent=parent,
        state=Operation.State.RUNNING,
        requested_by=parent.requested_by,
        reason="test",
    )
    started = timezone.now() - timedelta(minutes=5)
    return OperationStep.objects.create(
        operation=child,
        position=2,
        key="restore",
        label=label,
        state=state,
        started_at=started,
        finished_at=started + timedelta(seconds=restore_seconds) if restore_seconds else None,
    )


@pytest.mark.django_db
def test_the_expectation_is_the_shortest_of_the_same_step_among_the_siblings_that_finished_it():
    admin = UserFactory()
    parent = Operation.objects.create(
        kind="region_failover",
        subject_id="australiaeast",
        subject_label="Australia East",
        state=Operation.State.RUNNING,
        requested_by=admin,
        reason="test",
    )
    tenants = [TenantFactory() for _ in range(5)]
    _child(parent, tenants[0], restore_seconds=21.5)
    _child(parent, tenants[1], restore_seconds=20.2)
    _child(parent, tenants[2], state=OperationStep.State.RUNNING)
    # Another kind of work under the same step key (a replication link failed over): not
    # a restore to compare with.
    _child(parent, tenants[4], restore_seconds=8.0, label="Fail over the replication link")
    looking = _child(parent, tenants[3], state=OperationStep.State.RUNNING)
    context = StepContext(looking.operation, looking, "run", lambda pk, countdown: None)
    assert sibling_restore_seconds(context) == pytest.approx(20.2)


@pytest.mark.django_db
def test_an_operation_without_siblings_has_no_expectation():
    admin = UserFactory()
    tenant = TenantFactory()
    alone = Operation.objects.create(
        kind="tenant_failover",
        subject_id=tenant.slug,
        subject_label=tenant.display_name,
        tenant=tenant,
        state=Operation.State.RUNNING,
        requested_by=admin,
        reason="test",
    )
    step = OperationStep.objects.create(
        operation=alone, position=2, key="restore", label="Geo-restore", state="running"
    )
    assert sibling_restore_seconds(StepContext(alone, step, "run", lambda pk, c: None)) is None

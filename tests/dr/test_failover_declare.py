"""Declaring an Australia East outage: the basis recorded (Resource Health or an admin's word),
a second admin's approval, and refusals that change nothing."""

from __future__ import annotations

import pytest

from dr.failover import REGION_FAILOVER
from dr.services import failover_declare
from operations.models import Operation
from operations.services import OperationRefusedError, operation_approve
from portal.models import AuditEvent
from tests.factories import TenantFactory, UserFactory
from tests.monitoring.factories import TenantHealthFactory

pytestmark = pytest.mark.django_db


def quiet(pk: int, countdown: float) -> None:
    """Enqueue nowhere: these tests look at the request, not the run."""


@pytest.fixture
def second_admin(db):
    return UserFactory(username="blake.admin@fleetwise.example", groups=["Admins"])


@pytest.fixture
def region(db):
    return [TenantFactory(slug=f"t-{n}", dr_tier=1 + n % 3) for n in range(4)]


def test_it_records_resource_health_as_the_basis_when_most_of_the_region_is_unavailable(
    admin_user, region
):
    for tenant in region[:3]:
        TenantHealthFactory(
            tenant=tenant,
            db_availability="Unavailable",
            db_availability_reason="The region is having an outage.",
        )
    operation = failover_declare(
        region="australiaeast", reason="AUE down", declared_by=admin_user, enqueue=quiet
    )
    assert operation.kind == REGION_FAILOVER
    assert operation.state == Operation.State.AWAITING_APPROVAL
    assert operation.subject_type == "region" and operation.subject_label == "Australia East"
    assert operation.parameters["basis"] == "resource_health"
    assert "3 of 4 tenants in Australia East unavailable" in operation.parameters["evidence"]


def test_an_admin_may_declare_it_on_their_own_word_with_a_reason(admin_user, region):
    operation = failover_declare(
        region="australiaeast",
        reason="Microsoft status page: AUE storage outage",
        declared_by=admin_user,
        enqueue=quiet,
    )
    assert operation.parameters["basis"] == "declared"
    assert operation.reason == "Microsoft status page: AUE storage outage"


def test_the_declarer_cannot_approve_it_and_a_second_admin_can(admin_user, second_admin, region):
    operation = failover_declare(
        region="australiaeast", reason="AUE down", declared_by=admin_user, enqueue=quiet
    )
    with pytest.raises(OperationRefusedError, match="second person"):
        operation_approve(operation=operation, approver=admin_user, enqueue=quiet)
    operation_approve(operation=operation, approver=second_admin, enqueue=quiet)
    operation.refresh_from_db()
    assert operation.state == Operation.State.QUEUED and operation.approved_by == second_admin


@pytest.mark.parametrize(
    ("region_name", "reason", "refusal"),
    [
        ("australiasoutheast", "x", "Only Australia East"),
        ("australiaeast", "   ", "reason is required"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(
    admin_user, region, region_name, reason, refusal
):
    with pytest.raises(OperationRefusedError, match=refusal):
        failover_declare(region=region_name, reason=reason, declared_by=admin_user, enqueue=quiet)
    assert not Operation.objects.exists()


def test_support_may_not_declare_an_outage(support, region):
    with pytest.raises(OperationRefusedError, match="permission"):
        failover_declare(region="australiaeast", reason="x", declared_by=support, enqueue=quiet)
    assert not Operation.objects.exists()


def test_a_second_declaration_while_one_is_in_progress_is_refused(admin_user, second_admin, region):
    first = failover_declare(
        region="australiaeast", reason="AUE down", declared_by=admin_user, enqueue=quiet
    )
    with pytest.raises(OperationRefusedError, match=f"#{first.pk}"):
        failover_declare(
            region="australiaeast", reason="again", declared_by=second_admin, enqueue=quiet
        )
    assert Operation.objects.count() == 1
    assert AuditEvent.objects.filter(action="operation.requested").count() == 1

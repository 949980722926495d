"""The declare page (Resource Health's evidence, the form, refusals) and the failover's
progress page by tier; who may do what is pinned in the every-URL permission table."""

from __future__ import annotations

import pytest

from dr.failover import REGION_FAILOVER, TENANT_FAILOVER
from operations.models import Operation
from portal.models import AuditEvent
from tests.factories import TenantFactory, UserFactory
from tests.monitoring.factories import TenantHealthFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def region(db):
    tenants = [TenantFactory(slug=f"t-{n}", dr_tier=1 + n % 3) for n in range(3)]
    for tenant in tenants[:2]:
        TenantHealthFactory(
            tenant=tenant,
            app_availability="Unavailable",
            app_availability_reason="We're sorry, Australia East is experiencing an outage.",
        )
    return tenants


def test_the_declare_page_shows_what_resource_health_says(client, admin_user, region):
    client.force_login(admin_user)
    page = client.get("/dr/failover/").content.decode()
    assert "<strong>2 of 3</strong> tenants in Australia East" in page
    assert "Resource Health shows the region down." in page
    assert "experiencing an outage" in page


def test_declaring_requests_a_failover_awaiting_a_second_admin(client, admin_user, region):
    client.force_login(admin_user)
    response = client.post("/dr/failover/", {"reason": "AUE is down", "ticket": "INC-9"})
    parent = Operation.objects.get(kind=REGION_FAILOVER)
    assert response.status_code == 302 and response["Location"] == f"/dr/failover/{parent.pk}/"
    assert parent.state == Operation.State.AWAITING_APPROVAL and parent.ticket == "INC-9"
    page = client.get(response["Location"]).content.decode()
    # The declarer is not offered the approval; a second admin is.
    assert 'value="Approve"' not in page and "Awaiting approval" in page
    client.force_login(UserFactory(username="blake.admin@fleetwise.example", groups=["Admins"]))
    assert 'value="Approve"' in client.get(response["Location"]).content.decode()


def test_a_declaration_without_a_reason_is_refused_and_changes_nothing(client, admin_user, region):
    client.force_login(admin_user)
    response = client.post("/dr/failover/", {"reason": ""})
    assert response.status_code == 400
    assert not Operation.objects.exists()
    page = response.content.decode()
    # The summary at the top links the field, which shows the error beside it too.
    assert "The outage was not declared" in page and 'href="#id_reason"' in page
    assert 'id="id_reason_errors"' in page


def test_support_cannot_declare_and_nothing_is_requested(client, support, region):
    client.force_login(support)
    assert client.post("/dr/failover/", {"reason": "x"}).status_code == 403
    assert not Operation.objects.exists()
    assert not AuditEvent.objects.filter(action="operation.requested").exists()


def test_the_progress_page_counts_children_by_tier_and_lists_failures(client, admin_user, region):
    parent = Operation.objects.create(
        subject_type=Operation.Subject.REGION,
        subject_id="australiaeast",
        subject_label="Australia East",
        kind=REGION_FAILOVER,
        state=Operation.State.RUNNING,
        requested_by=admin_user,
        reason="AUE down",
        parameters={"region": "australiaeast", "basis": "declared", "evidence": ""},
        checkpoint={"planned_by_tier": {"1": 1, "2": 1, "3": 1}, "children_planned": 3},
    )
    for tenant, state, error in (
        (region[0], Operation.State.SUCCEEDED, ""),
        (region[1], Operation.State.FAILED, "No standby site"),
    ):
        Operation.objects.create(
            tenant=tenant,
            parent=parent,
            subject_id=tenant.slug,
            subject_label=tenant.display_name,
            kind=TENANT_FAILOVER,
            state=state,
            requested_by=admin_user,
            reason="part",
            error_code="NotReadyForFailover" if error else "",
            error_message=error,
        )
    client.force_login(admin_user)
    page = client.get(f"/dr/failover/{parent.pk}/").content.decode()
    assert (
        '<tr data-tier="1"><th scope="row">Tier 1</th><td>1</td><td class="tier-done">1</td>'
        in page
    )
    assert '<td class="tier-failed">1</td>' in page and "No standby site" in page
    assert '<td class="tier-queued">1</td>' in page  # tier 3 not started yet
    fragment = client.get(f"/dr/failover/{parent.pk}/", HTTP_HX_REQUEST="true")
    assert (
        fragment.content.decode()
        .lstrip()
        .startswith('<section class="module" id="failover-progress"')
    )

"""`manage.py failover_region`: the same declaration, refusals and approval as the page."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from dr.failover import REGION_FAILOVER
from operations.models import Operation
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def region(db):
    return [TenantFactory(slug=f"t-{n}") for n in range(2)]


def test_it_declares_the_outage_and_leaves_it_awaiting_a_second_admin(admin_user, region):
    out = StringIO()
    call_command(
        "failover_region",
        "--region=australiaeast",
        f"--declared-by={admin_user.username}",
        "--reason=AUE down since 02:10",
        "--ticket=INC-7",
        stdout=out,
    )
    parent = Operation.objects.get(kind=REGION_FAILOVER)
    assert parent.state == Operation.State.AWAITING_APPROVAL and parent.ticket == "INC-7"
    assert parent.requested_by == admin_user
    text = out.getvalue()
    assert "Resource Health has not been read yet." in text
    assert f"requested as operation #{parent.pk}; a second admin must approve it." in text


def test_a_region_the_fleet_does_not_live_in_is_refused_with_nothing_requested(admin_user, region):
    with pytest.raises(CommandError, match="Only Australia East"):
        call_command(
            "failover_region",
            "--region=westeurope",
            f"--declared-by={admin_user.username}",
            "--reason=x",
            stdout=StringIO(),
        )
    assert not Operation.objects.exists()


def test_support_cannot_declare_an_outage(support, region):
    with pytest.raises(CommandError, match="permission"):
        call_command(
            "failover_region",
            "--region=australiaeast",
            f"--declared-by={support.username}",
            "--reason=x",
            stdout=StringIO(),
        )
    assert not Operation.objects.exists()

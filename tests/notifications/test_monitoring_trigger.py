"""The refresh pipeline's status changes reach the tenant's account manager (through the SDKs
against the emulator, then Django's real SMTP backend)."""

from __future__ import annotations

import pytest

from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from tenants.models import Tenant
from tests.monitoring.conftest import compliant

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("celery_eager")]


def test_the_account_manager_is_told_when_the_refresh_finds_their_tenant_down(
    azure_emulator, fleet, control, account_manager, mailbox, django_capture_on_commit_callbacks
):
    tenant_data = compliant(azure_emulator)
    Tenant.objects.filter(slug=tenant_data["slug"]).update(account_manager=account_manager)
    with django_capture_on_commit_callbacks(execute=True):
        fleet_refresh(kind=RefreshRun.Kind.HOT)
    assert mailbox.messages() == []  # first evaluations are not changes

    control("POST", "sites/state", {"site_id": tenant_data["site_id"], "state": "Stopped"})
    with django_capture_on_commit_callbacks(execute=True):
        fleet_refresh(kind=RefreshRun.Kind.HOT)

    [message] = mailbox.messages()
    assert message["To"] == account_manager.email
    assert message["Subject"].endswith("is now Down")
    assert "Why: The app is stopped." in message.get_content()

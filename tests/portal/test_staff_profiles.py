"""Staff profiles are saved through their service: saved and audited together, or not at all."""

from __future__ import annotations

import pytest

from portal import services
from portal.models import AuditEvent, StaffProfile
from portal.services import staff_profile_save

pytestmark = pytest.mark.django_db


def change_url(profile: StaffProfile) -> str:
    return f"/portal/staffprofile/{profile.pk}/change/"


def test_an_admin_limits_an_account_manager_and_it_is_audited(client, admin_user, account_manager):
    profile = StaffProfile.objects.create(user=account_manager)
    client.force_login(admin_user)
    response = client.post(
        change_url(profile),
        {
            "user": account_manager.pk,
            "entra_tid": "",
            "entra_oid": "",
            "only_assigned_tenants": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    profile.refresh_from_db()
    assert profile.only_assigned_tenants
    event = AuditEvent.objects.get(action="staff_profile.update")
    assert event.actor == admin_user.username
    assert event.details == {
        "user": account_manager.username,
        "changed": ["only_assigned_tenants"],
        "only_assigned_tenants": True,
    }


def test_a_profile_is_not_saved_when_its_audit_event_cannot_be_written(
    admin_user, account_manager, monkeypatch
):
    profile = StaffProfile.objects.create(user=account_manager)

    def audit_fails(**kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(services, "audit_record", audit_fails)
    profile.only_assigned_tenants = True
    with pytest.raises(RuntimeError):
        staff_profile_save(profile=profile, actor=admin_user, changed=["only_assigned_tenants"])
    assert not StaffProfile.objects.get(pk=profile.pk).only_assigned_tenants

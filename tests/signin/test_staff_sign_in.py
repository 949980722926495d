from __future__ import annotations

import pytest

from portal import roles
from portal.azure.entra import SignedInIdentity
from portal.models import StaffProfile
from portal.services import IdentityConflictError, NoPortalAccessError, staff_sign_in
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TENANT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"


def identity(
    *roles_: str,
    oid: str = "11111111-0000-4000-8000-000000000001",
    username: str = "pat@fleetwise.example",
):
    return SignedInIdentity(oid=oid, tid=TENANT, name="Pat Person", username=username, roles=roles_)


def test_a_first_sign_in_creates_the_user_keyed_by_object_id():
    user = staff_sign_in(identity=identity("Portal.Support"))
    profile = StaffProfile.objects.get(user=user)
    assert (profile.entra_tid, profile.entra_oid) == (
        TENANT,
        "11111111-0000-4000-8000-000000000001",
    )
    assert (user.first_name, user.last_name, user.email) == (
        "Pat",
        "Person",
        "pat@fleetwise.example",
    )


def test_a_changed_username_updates_the_same_user_not_a_new_one():
    first = staff_sign_in(identity=identity("Portal.Support"))
    again = staff_sign_in(identity=identity("Portal.Support", username="pat.new@fleetwise.example"))
    assert again.pk == first.pk
    assert again.username == "pat.new@fleetwise.example"


def test_roles_are_replaced_at_every_sign_in():
    user = staff_sign_in(identity=identity("Portal.Support", "Portal.Admin"))
    assert set(user.groups.values_list("name", flat=True)) == {roles.SUPPORT, roles.ADMINS}
    user = staff_sign_in(identity=identity("Portal.AccountManager"))
    assert set(user.groups.values_list("name", flat=True)) == {roles.ACCOUNT_MANAGERS}


def test_a_removed_role_removes_access_at_the_next_sign_in():
    user = staff_sign_in(identity=identity("Portal.Admin"))
    with pytest.raises(NoPortalAccessError):
        staff_sign_in(identity=identity())
    user.refresh_from_db()
    assert not user.groups.exists()
    assert not user.is_staff


def test_the_same_username_on_another_account_is_a_conflict_not_a_takeover():
    UserFactory(username="pat@fleetwise.example")
    with pytest.raises(IdentityConflictError):
        staff_sign_in(identity=identity("Portal.Admin"))
    assert not StaffProfile.objects.exists()


def test_nobody_becomes_a_superuser_through_entra():
    user = staff_sign_in(identity=identity("Portal.Admin"))
    assert not user.is_superuser

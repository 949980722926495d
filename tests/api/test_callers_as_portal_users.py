"""How API callers become portal users: people by object id with groups following the token's
roles (as at sign-in), apps as users of their own holding exactly their app roles' permissions."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model

from portal.models import AuditEvent, StaffProfile

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

TENANTS = "/api/v1/tenants"


def test_a_role_removed_in_entra_is_removed_at_the_persons_next_call(call, tokens, fleet):
    assert call("GET", TENANTS, tokens.person("support")).status_code == 200
    user = get_user_model().objects.get(username="sasha.support@fleetwise.example")
    assert list(user.groups.values_list("name", flat=True)) == ["Support"]

    response = call("GET", TENANTS, tokens.forged("support", roles=[]))

    assert response.status_code == 403
    assert not user.groups.exists()


def test_a_person_is_matched_by_object_id_not_by_name(call, tokens, fleet, azure_emulator):
    call("GET", TENANTS, tokens.person("admin"))
    oid = next(p["oid"] for p in azure_emulator.demo["people"] if "Portal.Admin" in p["roles"])
    first = StaffProfile.objects.get(entra_oid=oid.lower()).user_id
    users = get_user_model().objects.count()

    renamed = tokens.forged("admin", preferred_username="someone.else@fleetwise.example")
    assert call("GET", TENANTS, renamed).status_code == 200

    assert get_user_model().objects.count() == users
    assert StaffProfile.objects.get(entra_oid=oid.lower()).user_id == first


def test_an_app_gets_a_user_with_exactly_its_roles_permissions_and_no_way_into_the_pages(
    call, tokens, fleet, client
):
    assert call("GET", TENANTS, tokens.app("runbooks")).status_code == 200
    app = get_user_model().objects.get(username__startswith="app:")
    assert not app.is_staff and not app.has_usable_password()
    assert app.get_all_permissions() == {"portal.view_tenant", "portal.request_restore"}
    audited = AuditEvent.objects.get(action="api.app_permissions")
    assert audited.details["roles"] == ["Fleet.Read", "Operations.Request"]

    call("GET", TENANTS, tokens.app("runbooks"))  # unchanged roles: nothing rewritten
    assert AuditEvent.objects.filter(action="api.app_permissions").count() == 1
    client.force_login(app)
    assert client.get("/").status_code in (302, 403)  # the admin shell is for staff


def test_listing_tenants_takes_the_same_queries_for_a_few_or_many(
    call, tokens, fleet, django_assert_max_num_queries
):
    token = tokens.app("status_board")
    call("GET", TENANTS, token)  # the app's user exists from now on
    with django_assert_max_num_queries(8):
        few = call("GET", f"{TENANTS}?limit=2", token)
    with django_assert_max_num_queries(8):
        many = call("GET", f"{TENANTS}?limit=200", token)
    assert len(few.json()["items"]) == 2
    assert len(many.json()["items"]) == len(fleet)


def test_listing_operations_takes_a_fixed_number_of_queries(
    call, tokens, fleet, admin_user, django_assert_max_num_queries
):
    from operations.models import Operation

    for tenant in fleet:
        Operation.objects.create(
            tenant=tenant,
            subject_id=tenant.slug,
            subject_label=tenant.display_name,
            kind="restore_parallel",
            state=Operation.State.SUCCEEDED,
            requested_by=admin_user,
            approved_by=admin_user,
            reason="drill",
        )
    token = tokens.app("status_board")
    call("GET", "/api/v1/operations", token)
    with django_assert_max_num_queries(8):
        answer = call("GET", "/api/v1/operations", token)
    assert answer.json()["count"] == len(fleet)

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group

from portal import roles


@pytest.mark.django_db
def test_the_migration_gives_each_group_exactly_the_permissions_of_the_role_table():
    for name, expected in roles.GROUP_PERMISSIONS.items():
        group = Group.objects.get(name=name)
        held = {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        assert held == set(expected), name


@pytest.mark.django_db
def test_each_role_can_do_what_the_design_says_and_no_more(
    support, account_manager, admin_user, outsider
):
    assert account_manager.has_perm(roles.VIEW_TENANT)
    assert not account_manager.has_perm(roles.REQUEST_RESTORE)
    assert support.has_perm(roles.REQUEST_RESTORE)
    assert support.has_perm(roles.TRIAGE_ALERT)
    assert not account_manager.has_perm(roles.TRIAGE_ALERT)
    assert not support.has_perm(roles.APPROVE_OPERATION)
    assert not support.has_perm(roles.MANAGE_CATALOGUE)
    for permission in (
        roles.APPROVE_OPERATION,
        roles.SCALE_TENANT,
        roles.ROTATE_KEY,
        roles.MANAGE_CATALOGUE,
        roles.TRIAGE_ALERT,
    ):
        assert admin_user.has_perm(permission)
    assert not outsider.has_perm(roles.VIEW_TENANT)


def test_app_roles_map_to_groups_and_unknown_roles_give_nothing():
    assert roles.groups_for_app_roles(["Portal.Support", "Portal.Admin"]) == {
        roles.SUPPORT,
        roles.ADMINS,
    }
    assert roles.groups_for_app_roles(["Portal.AccountManager"]) == {roles.ACCOUNT_MANAGERS}
    assert roles.groups_for_app_roles(["Portal.Superuser", "Directory.Read"]) == set()


def test_role_values_are_settings(settings):
    settings.ENTRA_ROLE_SUPPORT = "Ops.Support"
    assert roles.groups_for_app_roles(["Ops.Support", "Portal.Support"]) == {roles.SUPPORT}


@pytest.mark.django_db
def test_sync_role_groups_repairs_a_group_edited_by_hand():
    from django.core.management import call_command

    support = Group.objects.get(name=roles.SUPPORT)
    support.permissions.clear()
    call_command("sync_role_groups", stdout=__import__("io").StringIO())
    held = {f"{p.content_type.app_label}.{p.codename}" for p in support.permissions.all()}
    assert held == set(roles.GROUP_PERMISSIONS[roles.SUPPORT])

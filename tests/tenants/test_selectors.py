from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404

from portal.models import StaffProfile
from tenants.selectors import tenant_for_user, tenants_visible_to
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_support_and_admins_see_every_tenant(support, admin_user):
    TenantFactory(slug="acme")
    TenantFactory(slug="globex")
    assert tenants_visible_to(support).count() == 2
    assert tenant_for_user(admin_user, "globex").slug == "globex"


def test_a_limited_account_manager_sees_only_assigned_tenants_and_others_are_404(account_manager):
    StaffProfile.objects.create(user=account_manager, only_assigned_tenants=True)
    TenantFactory(slug="acme", account_manager=account_manager)
    TenantFactory(slug="globex")
    assert list(tenants_visible_to(account_manager).values_list("slug", flat=True)) == ["acme"]
    assert tenant_for_user(account_manager, "acme").slug == "acme"
    with pytest.raises(Http404):
        tenant_for_user(account_manager, "globex")


def test_an_unlimited_account_manager_sees_the_whole_fleet(account_manager):
    TenantFactory(slug="acme")
    assert tenant_for_user(account_manager, "acme").slug == "acme"


def test_a_person_without_a_role_is_refused(outsider):
    TenantFactory(slug="acme")
    assert tenants_visible_to(outsider).count() == 0
    with pytest.raises(PermissionDenied):
        tenant_for_user(outsider, "acme")


def test_a_tenant_that_does_not_exist_is_404(support):
    with pytest.raises(Http404):
        tenant_for_user(support, "nobody")

"""Permission-carrying reads of the key inventory (pages never call Azure)."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet

from portal.roles import ROTATE_KEY
from tenants.models import Tenant
from tenants.selectors import tenants_visible_to


def tenants_with_keys_for_user(user: User | AnonymousUser) -> QuerySet[Tenant]:
    """Every tenant the user may see with its key inventory joined in (one query); tenants
    whose key was never collected come with none, so the list shows them as such."""
    if not user.is_authenticated or not user.has_perm(ROTATE_KEY):
        return Tenant.objects.none()
    return tenants_visible_to(user).select_related("key_inventory").order_by("slug")

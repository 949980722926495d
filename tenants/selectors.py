"""Permission-carrying reads of the catalogue. Views never fetch tenants any other way."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from portal.roles import VIEW_TENANT
from tenants.models import ActiveCopy, Tenant


def _only_assigned(user: User | AnonymousUser) -> bool:
    profile = getattr(user, "staff_profile", None)
    return bool(profile and profile.only_assigned_tenants)


def sees_every_tenant(user: User | AnonymousUser) -> bool:
    """Whether the user may see the whole catalogue (and so operations on shared resources)."""
    return user.is_authenticated and user.has_perm(VIEW_TENANT) and not _only_assigned(user)


def tenants_visible_to(user: User | AnonymousUser) -> QuerySet[Tenant]:
    if not user.is_authenticated or not user.has_perm(VIEW_TENANT):
        return Tenant.objects.none()
    tenants = Tenant.objects.select_related("account_manager")
    if _only_assigned(user):
        tenants = tenants.filter(account_manager=user)
    return tenants


def tenant_for_user(user: User | AnonymousUser, slug: str) -> Tenant:
    """The tenant if the user may see it. Hidden tenants are 404, not 403, so names don't leak."""
    if not user.is_authenticated or not user.has_perm(VIEW_TENANT):
        raise PermissionDenied("You do not have permission to view tenants.")
    try:
        return tenants_visible_to(user).get(slug=slug)
    except Tenant.DoesNotExist as exc:
        raise Http404(f"No tenant {slug!r}.") from exc


def active_copy(tenant: Tenant) -> ActiveCopy:
    """Where the tenant runs now (home, or the paired region after a failover). Restores,
    scaling and health act on this copy, never on the catalogue's home ids directly."""
    return tenant.active

"""Permission-carrying reads of the catalogue. Views never fetch tenants any other way."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
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


# Where tenants run now: at home (no active copy recorded) by the catalogue's home ids, away by
# their active ids. Scaling and key pages list "who shares this" with these.
_HOME = Q(active_database_id="")


def tenants_on_server(server_id: str) -> QuerySet[Tenant]:
    """Tenants whose database runs on `server_id` now."""
    return Tenant.objects.filter(
        (_HOME & Q(sql_server_id__iexact=server_id)) | Q(active_sql_server_id__iexact=server_id)
    )


def tenants_in_pool(pool_id: str) -> QuerySet[Tenant]:
    """Tenants whose database is in the elastic pool `pool_id` now."""
    return Tenant.objects.filter(
        (_HOME & Q(elastic_pool_id__iexact=pool_id)) | Q(active_elastic_pool_id__iexact=pool_id)
    )


def tenants_on_sites(site_ids: Iterable[str]) -> QuerySet[Tenant]:
    """Tenants served now by one of `site_ids` (e.g. the sites of an App Service plan)."""
    match = Q(pk__in=[])
    for site_id in site_ids:
        match |= (_HOME & Q(app_service_site_id__iexact=site_id)) | Q(
            active_site_id__iexact=site_id
        )
    return Tenant.objects.filter(match)

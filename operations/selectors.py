"""Permission-carrying reads of operations: people see operations of the tenants they see, and
operations on shared subjects (pools, servers, regions, the fleet) only if they see every tenant."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.http import Http404

from operations.models import Operation
from operations.services import awaiting_approval_by
from tenants.selectors import sees_every_tenant, tenants_visible_to


def operations_visible_to(user: User | AnonymousUser) -> QuerySet[Operation]:
    visible = Q(tenant__in=tenants_visible_to(user))
    if sees_every_tenant(user):
        visible |= Q(tenant__isnull=True)
    return Operation.objects.filter(visible).select_related(
        "tenant", "requested_by", "approved_by", "parent"
    )


def operation_for_user(user: User | AnonymousUser, pk: int) -> Operation:
    try:
        return operations_visible_to(user).get(pk=pk)
    except Operation.DoesNotExist as exc:
        raise Http404(f"No operation {pk}.") from exc


def approvals_waiting_for(user: User | AnonymousUser) -> QuerySet[Operation]:
    """What `user` may approve now, oldest first (the badge counts it, the approvals page
    lists it); who may approve is the services' rule."""
    return (
        operations_visible_to(user).filter(awaiting_approval_by(user)).order_by("created_at", "id")
    )


def own_requests_awaiting_approval(user: User | AnonymousUser) -> QuerySet[Operation]:
    """`user`'s own requests still waiting for a second person."""
    return (
        operations_visible_to(user)
        .filter(state=Operation.State.AWAITING_APPROVAL, requested_by_id=user.pk)
        .order_by("created_at", "id")
    )

"""Permission-carrying reads of operations: people see operations of the tenants they see."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404

from operations.models import Operation
from tenants.selectors import tenants_visible_to


def operations_visible_to(user: User | AnonymousUser) -> QuerySet[Operation]:
    return Operation.objects.filter(tenant__in=tenants_visible_to(user)).select_related(
        "tenant", "requested_by", "approved_by"
    )


def operation_for_user(user: User | AnonymousUser, pk: int) -> Operation:
    try:
        return operations_visible_to(user).get(pk=pk)
    except Operation.DoesNotExist as exc:
        raise Http404(f"No operation {pk}.") from exc

"""What every page's header needs from operations: the approvals badge."""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from django.http import HttpRequest

from operations.selectors import approvals_waiting_for
from portal.roles import APPROVE_OPERATION


def approvals(request: HttpRequest) -> dict[str, Any]:
    """`approvals_waiting`: how many operations wait for this person's approval. A callable,
    so the one COUNT query runs only when a page shows the badge (htmx fragments do not)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.has_perm(APPROVE_OPERATION):
        return {"approvals_waiting": 0}

    @cache
    def waiting() -> int:
        return approvals_waiting_for(user).count()

    counter: Callable[[], int] = waiting
    return {"approvals_waiting": counter}

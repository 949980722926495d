"""The admins' key page: every tenant's TDE key as last collected, in one list."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from keys.selectors import tenants_with_keys_for_user
from portal.pages import render_page
from portal.roles import ROTATE_KEY


@require_safe
@login_required
@permission_required(ROTATE_KEY, raise_exception=True)
def key_list(request: HttpRequest) -> HttpResponse:
    """Read from the stored inventory only; opening a tenant's Rotate key page re-collects it."""
    tenants = list(tenants_with_keys_for_user(request.user))
    rows = [(t, getattr(t, "key_inventory", None)) for t in tenants]
    return render_page(
        request,
        "keys/key_list.html",
        {
            "rows": rows,
            "not_collected": sum(1 for _, inventory in rows if inventory is None),
        },
        title="Encryption keys",
    )

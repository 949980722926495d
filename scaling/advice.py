"""Pool rebalancing advice: hot pools from the monitoring snapshots and which tenants' databases
to move where; each suggestion links to the scale page with the move filled in."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required, permission_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe

from monitoring.selectors import pools_for_user
from portal.pages import render_page
from portal.roles import SCALE_TENANT
from scaling import rules
from tenants.selectors import tenants_visible_to

HOT_PERCENT = 80.0


@require_safe
@login_required
@permission_required(SCALE_TENANT, raise_exception=True)
def rebalancing(request: HttpRequest) -> HttpResponse:
    """Hot pools and which tenants' databases to move where, from the utilisation snapshots;
    each suggestion links to a prefilled move request. Nothing moves without a request."""
    snapshots = list(pools_for_user(request.user).order_by("name"))
    loads = [
        rules.PoolLoad(
            pool_id=p.pool_id,
            name=p.name,
            server=f"{p.subscription_id}/{p.resource_group}/{p.server_name}".lower(),
            capacity=rules.dtu_equivalent(float(p.capacity or 0), p.sku_name),
            cpu_percent=float(p.cpu_percent or 0),
            max_size_bytes=int(p.max_size_bytes or 0),
            storage_used_bytes=int(p.storage_used_bytes or 0),
            shares=tuple(
                rules.DatabaseShare(
                    database_id=str(s.get("database_id", "")),
                    database=str(s.get("database", "")),
                    tenant=str(s.get("tenant") or ""),
                    cpu_percent=float(s.get("cpu_percent") or 0),
                    storage_bytes=int(s.get("storage_bytes") or 0),
                )
                for s in p.database_shares or []
            ),
        )
        for p in snapshots
    ]
    visible = {t.slug for t in tenants_visible_to(request.user)}
    advice = [a for a in rules.rebalancing_advice(loads) if a.tenant in visible]
    hot = [p for p in snapshots if (p.cpu_percent or 0) >= HOT_PERCENT]
    return render_page(
        request,
        "scaling/rebalancing.html",
        {"advice": advice, "hot": hot, "hot_percent": HOT_PERCENT},
        title="Pool rebalancing advice",
    )

"""The monitoring write path: scheduled refreshes of each cadence, and "refresh now" for one
tenant or the fleet (rate-limited, audited, run by the worker)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from monitoring import refresh
from monitoring.models import PostureCheck, RefreshRun, Source, TenantHealth
from monitoring.posture_refresh import POSTURE_READERS, posture_slice
from monitoring.signals import backups_refreshed
from monitoring.sources import source_as_of
from portal.audit import audit_record
from portal.azure.meter import metered
from tenants.models import Tenant


class RefreshRefusedError(Exception):
    """A "refresh now" asked for too soon after the previous one; the message says when."""


def _tenants(slug: str | None = None) -> list[Tenant]:
    tenants = Tenant.objects.exclude(status=Tenant.Status.OFFBOARDED).order_by("pk")
    if slug is not None:
        tenants = tenants.filter(slug=slug)
    return list(tenants)


def _readers(kind: str) -> dict[str, refresh.Reader]:
    if kind == RefreshRun.Kind.HOT:
        return refresh.HOT_READERS
    if kind == RefreshRun.Kind.BACKUPS:
        return refresh.HOURLY_READERS
    if kind == RefreshRun.Kind.POSTURE:
        return POSTURE_READERS
    return {**refresh.HOT_READERS, **refresh.HOURLY_READERS, **POSTURE_READERS}


def refresh_run_execute(*, run: RefreshRun, tenants: list[Tenant] | None = None) -> RefreshRun:
    """Read the run's sources for its tenants and write the snapshots; counts the Azure calls.

    Azure failures never fail the run: they are recorded per source (and on each tenant's
    snapshot) and the rest is written."""
    now = timezone.now()
    if tenants is None:
        tenants = _tenants(run.tenant.slug if run.tenant else None)
        if run.kind == RefreshRun.Kind.POSTURE:
            checked = set(PostureCheck.objects.values_list("tenant_id", flat=True).distinct())
            tenants = posture_slice(tenants, now, checked)
    run.started_at = now
    with metered() as meter:
        errors = refresh.refresh(tenants, now, _readers(run.kind)) if tenants else {}
    run.finished_at = timezone.now()
    run.tenants, run.errors = len(tenants), errors
    run.azure_calls, run.throttled = meter.calls, meter.throttled
    run.save()
    if run.kind == RefreshRun.Kind.BACKUPS:
        backups_refreshed.send(sender=RefreshRun, run=run)
    return run


def fleet_refresh(*, kind: str, tenants: list[Tenant] | None = None) -> RefreshRun:
    """A scheduled refresh of one cadence (hot, backups, posture) across the fleet."""
    run = RefreshRun.objects.create(kind=kind, requested_at=timezone.now())
    return refresh_run_execute(run=run, tenants=tenants)


# The slow sources run at fixed minutes of the hour; a tenant they have never read (a portal
# just started, a tenant just added) is read by a catch-up after the next hot refresh instead
# of showing dashes for up to an hour. A catch-up asked for within this long is not repeated.
CATCH_UP_QUIET = timedelta(minutes=30)
SLOW_KINDS = {RefreshRun.Kind.BACKUPS: Source.BACKUPS, RefreshRun.Kind.POSTURE: Source.POSTURE}


def slow_sources_unread() -> dict[str, list[Tenant]]:
    """Per slow kind (backups, posture), the tenants its source has never read successfully."""
    tenants = _tenants()
    healths = TenantHealth.objects.in_bulk([t.pk for t in tenants])

    def unread(source: str) -> list[Tenant]:
        return [
            t for t in tenants if t.pk not in healths or source_as_of(healths[t.pk], source) is None
        ]

    return {kind: found for kind, source in SLOW_KINDS.items() if (found := unread(source))}


def slow_sources_catch_up_due() -> bool:
    """Whether some tenant lacks a slow source and no slow run was asked for lately."""
    since = timezone.now() - CATCH_UP_QUIET
    recent = RefreshRun.objects.filter(kind__in=list(SLOW_KINDS), requested_at__gte=since)
    return not recent.exists() and bool(slow_sources_unread())


def slow_sources_catch_up() -> list[RefreshRun]:
    """Read the slow sources for the tenants they have never read (one run per kind)."""
    return [
        fleet_refresh(kind=kind, tenants=tenants) for kind, tenants in slow_sources_unread().items()
    ]


def _refuse_if_recent(filters: dict[str, object], since: datetime, what: str) -> None:
    last = RefreshRun.objects.filter(requested_at__gte=since, **filters).first()
    if last is not None:
        wait = max(1, math.ceil((last.requested_at - since).total_seconds()))
        raise RefreshRefusedError(f"{what} was refreshed moments ago; try again in {wait} s.")


def tenant_refresh_request(
    *, tenant: Tenant, requested_by: User, enqueue: Callable[[int], None]
) -> RefreshRun:
    """Refresh every source of one tenant now, on the worker. Refused within
    MONITORING_REFRESH_NOW_COOLDOWN_SECONDS of the previous request for that tenant."""
    now = timezone.now()
    cooldown = timedelta(seconds=settings.MONITORING_REFRESH_NOW_COOLDOWN_SECONDS)
    with transaction.atomic():
        _refuse_if_recent(
            {"kind": RefreshRun.Kind.TENANT, "tenant": tenant}, now - cooldown, tenant.slug
        )
        run = RefreshRun.objects.create(
            kind=RefreshRun.Kind.TENANT, tenant=tenant, requested_by=requested_by, requested_at=now
        )
        audit_record(
            action="monitoring.refresh_requested",
            actor=requested_by,
            tenant=tenant.slug,
            details={"run": run.pk, "scope": "tenant"},
        )
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


def fleet_refresh_request(*, requested_by: User, enqueue: Callable[[int], None]) -> RefreshRun:
    """Refresh the hot sources of the whole fleet now, on the worker. Refused within
    MONITORING_FLEET_REFRESH_NOW_COOLDOWN_SECONDS of the previous fleet refresh (scheduled or not)."""
    now = timezone.now()
    cooldown = timedelta(seconds=settings.MONITORING_FLEET_REFRESH_NOW_COOLDOWN_SECONDS)
    with transaction.atomic():
        _refuse_if_recent({"kind": RefreshRun.Kind.HOT}, now - cooldown, "The fleet")
        run = RefreshRun.objects.create(
            kind=RefreshRun.Kind.HOT, requested_by=requested_by, requested_at=now
        )
        audit_record(
            action="monitoring.refresh_requested",
            actor=requested_by,
            details={"run": run.pk, "scope": "fleet"},
        )
        transaction.on_commit(lambda: enqueue(run.pk))
    return run


def tenant_refresh_after_change(
    *, tenant: Tenant, enqueue: Callable[[int], None]
) -> RefreshRun | None:
    """Read every source of a tenant again after an operation changed it (a scale, a move, a key
    rotation, a restore), so its page shows the new SKU, pool or key version instead of waiting
    for the hourly sources. One pending run per tenant is enough: a second is not filed (a run
    never picked up, its enqueue lost, stops counting as pending after ten minutes)."""
    now = timezone.now()
    with transaction.atomic():
        pending = RefreshRun.objects.filter(
            kind=RefreshRun.Kind.TENANT,
            tenant=tenant,
            started_at__isnull=True,
            requested_at__gte=now - timedelta(minutes=10),
        ).exists()
        if pending:
            return None
        run = RefreshRun.objects.create(
            kind=RefreshRun.Kind.TENANT, tenant=tenant, requested_at=now
        )
        transaction.on_commit(lambda: enqueue(run.pk))
    return run

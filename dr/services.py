"""The DR write path: working out every tenant's readiness and recording it (rows, the posture
check "DR ready", one audit event)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.utils import timezone

from dr.collect import readiness_facts
from dr.failover import REGION_FAILOVER, RegionFailoverParameters
from dr.models import DrReadiness
from dr.outage import HOME_REGION, REGION_LABELS, outage_evidence
from dr.posture import DR_CHECK, dr_check
from dr.readiness import ReadinessFacts, assess, unavailable
from monitoring.models import PostureCheck, Source, TenantHealth
from monitoring.sources import source_as_of
from operations.engine import Enqueue
from operations.kinds import Subject
from operations.models import Operation
from operations.services import OperationRefusedError, operation_request
from operations.tasks import enqueue_run
from portal.audit import audit_record
from portal.azure.meter import metered
from tenants.models import Tenant


@dataclass(frozen=True)
class ReadinessSummary:
    tenants: int
    ready: int
    azure_calls: int
    checked_at: datetime


def _tenants() -> list[Tenant]:
    """Tenants whose backups the monitoring refresh has read at least once: before that the
    newest geo backup is unknown, not missing, so they stay "not yet assessed" (no gap, no
    posture failure) until the backups refresh that follows start-up calls readiness again."""
    tenants = list(Tenant.objects.exclude(status=Tenant.Status.OFFBOARDED).order_by("pk"))
    # Only the per-source read times: the rows' 24 h series and backup lists are large.
    healths = TenantHealth.objects.only("tenant", "sources").in_bulk([t.pk for t in tenants])
    return [
        t
        for t in tenants
        if t.pk in healths and source_as_of(healths[t.pk], Source.BACKUPS) is not None
    ]


def _recorded_at(recipe: dict[str, Any]) -> datetime | None:
    return datetime.fromisoformat(recipe["recorded_at"]) if recipe else None


def _row(
    tenant: Tenant, facts: ReadinessFacts, before: DrReadiness | None, now: datetime
) -> DrReadiness:
    """This run's reading, or, when Azure could not be read, the last good one marked
    unavailable since the first failure (an outage must not turn every tenant into gaps)."""
    failed = unavailable(facts, before.unavailable_since if before else None, now)
    if failed and before is not None and before.is_good_reading:
        before.unavailable_since, before.unavailable_reason = failed.since, failed.reason
        return before
    verdict = assess(facts, now)
    return DrReadiness(
        tenant=tenant,
        ready=verdict.ready,
        gaps=verdict.gaps,
        geo_backup_at=facts.geo_backup_at,
        paired_server=facts.paired_server,
        # A geo-secondary's room is its own pool; otherwise the pool planned for a restore.
        paired_pool_id=facts.geo_secondary_pool_id or (facts.pool.id if facts.pool else ""),
        geo_secondary_id=facts.geo_secondary_id,
        standby_site_id=facts.standby_site_id,
        standby_state=facts.standby_state,
        standby_recipe=facts.standby_recipe,
        standby_recipe_at=_recorded_at(facts.standby_recipe),
        key_note=facts.key_note,
        key_uri=facts.key_uri,
        key_identity_ids=list(facts.key_identity_ids),
        checked_at=now,
        unavailable_since=failed.since if failed else None,
        unavailable_reason=failed.reason if failed else "",
    )


def _rows(tenants: list[Tenant], now: datetime) -> list[DrReadiness]:
    before = {r.tenant_id: r for r in DrReadiness.objects.filter(tenant__in=tenants)}
    return [
        _row(tenant, facts, before.get(tenant.pk), now)
        for tenant, facts in readiness_facts(tenants)
    ]


def _record_posture(rows: list[DrReadiness]) -> None:
    """The posture check "DR ready" per tenant, and each tenant's failure count with it."""
    PostureCheck.objects.filter(tenant__in=[r.tenant for r in rows], check_name=DR_CHECK).delete()
    PostureCheck.objects.bulk_create(
        [
            PostureCheck(tenant=row.tenant, read_at=row.checked_at, **vars(dr_check(row)))
            for row in rows
        ]
    )
    failing = dict.fromkeys((row.tenant.pk for row in rows), 0)
    for tenant_id in PostureCheck.objects.filter(tenant_id__in=failing, passed=False).values_list(
        "tenant_id", flat=True
    ):
        failing[tenant_id] += 1
    for health in TenantHealth.objects.filter(tenant_id__in=failing).only(
        "tenant", "posture_failures"
    ):
        if health.posture_failures != failing[health.tenant_id]:
            health.posture_failures = failing[health.tenant_id]
            health.save(update_fields=["posture_failures"])


def readiness_refresh(*, actor: AbstractBaseUser | AnonymousUser | None = None) -> ReadinessSummary:
    """Read what stands ready in Australia Southeast for every tenant and record it.

    Azure is read before the transaction opens (no lock held over network calls)."""
    tenants = _tenants()
    now = timezone.now()
    with metered() as meter:
        rows = _rows(tenants, now)
    with transaction.atomic():
        DrReadiness.objects.filter(tenant__in=tenants).delete()
        DrReadiness.objects.bulk_create(rows)
        _record_posture(rows)
        summary = ReadinessSummary(
            tenants=len(rows),
            ready=sum(1 for r in rows if r.ready),
            azure_calls=meter.calls,
            checked_at=now,
        )
        audit_record(
            action="dr.readiness_refreshed",
            actor=actor,
            actor_name="" if actor else "scheduler",
            details={
                "tenants": summary.tenants,
                "ready": summary.ready,
                "azure_calls": summary.azure_calls,
            },
        )
    return summary


def failover_declare(
    *,
    region: str,
    reason: str,
    declared_by: User,
    ticket: str = "",
    enqueue: Enqueue = enqueue_run,
) -> Operation:
    """Declare `region` down and request its failover; a second admin must approve it.

    The basis is recorded as Resource Health's when the stored readings show the region down,
    otherwise as the admin's own declaration (the reason says why). Refused, with nothing
    changed, for a region the fleet does not live in or while a failover is in progress."""
    if region != HOME_REGION:
        raise OperationRefusedError(
            f"Only {REGION_LABELS[HOME_REGION]} ({HOME_REGION}) can be failed over: it is the "
            "fleet's home region and Australia Southeast is its pair."
        )
    evidence = outage_evidence(region)
    if not evidence.tenants:
        raise OperationRefusedError(f"No tenant lives in {REGION_LABELS[region]}.")
    return operation_request(
        kind=REGION_FAILOVER,
        subject=Subject(Operation.Subject.REGION, region, REGION_LABELS[region]),
        requested_by=declared_by,
        reason=reason,
        ticket=ticket,
        parameters=RegionFailoverParameters(
            region=region,
            basis="resource_health" if evidence.region_down else "declared",
            evidence=evidence.summary(),
        ),
        enqueue=enqueue,
    )

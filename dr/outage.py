"""What the portal knows about a regional outage: Resource Health as the last refresh stored it.

The declare page shows this as the evidence for a failover (pages never call Azure): how many of
the region's tenants have their app or database reported Unavailable by Resource Health, with a
few of the reasons Azure gave, and how old the reading is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Max, Q

from monitoring.models import TenantHealth
from tenants.models import Tenant

HOME_REGION = "australiaeast"
PAIRED_REGION = "australiasoutheast"
REGION_LABELS = {HOME_REGION: "Australia East", PAIRED_REGION: "Australia Southeast"}
# Resource Health says the region is down when at least this share of its tenants is
# Unavailable: one broken app is an incident, most of a region is an outage.
DOWN_SHARE = 0.5


@dataclass(frozen=True)
class OutageEvidence:
    region: str
    tenants: int
    unavailable: int
    reasons: tuple[str, ...]
    read_at: datetime | None

    @property
    def region_down(self) -> bool:
        return bool(self.tenants) and self.unavailable >= self.tenants * DOWN_SHARE

    def summary(self) -> str:
        if not self.read_at:
            return "Resource Health has not been read yet."
        return (
            f"Resource Health: {self.unavailable} of {self.tenants} tenants in "
            f"{REGION_LABELS.get(self.region, self.region)} unavailable "
            f"(read {self.read_at:%Y-%m-%d %H:%M} UTC)."
        )


def region_tenants(region: str) -> Q:
    """Tenants whose home is `region` and that are not offboarded."""
    return Q(region=region) & ~Q(status=Tenant.Status.OFFBOARDED)


def outage_evidence(region: str) -> OutageEvidence:
    """Resource Health for the region's tenants, from the stored snapshots (two queries)."""
    healths = TenantHealth.objects.filter(tenant__in=Tenant.objects.filter(region_tenants(region)))
    down = healths.filter(Q(app_availability="Unavailable") | Q(db_availability="Unavailable"))
    reasons = tuple(
        dict.fromkeys(
            reason
            for app, db in down.values_list("app_availability_reason", "db_availability_reason")[
                :50
            ]
            for reason in (app, db)
            if reason
        )
    )[:3]
    return OutageEvidence(
        region=region,
        tenants=Tenant.objects.filter(region_tenants(region)).count(),
        unavailable=down.count(),
        reasons=reasons,
        read_at=healths.aggregate(at=Max("as_of"))["at"],
    )

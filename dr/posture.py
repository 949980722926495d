"""The posture check "DR ready": the security statement promises a recovery in Australia
Southeast, so a tenant with readiness gaps fails it (the gaps are its "actual")."""

from __future__ import annotations

from dr.models import DrReadiness
from monitoring.fleet import SourceResult
from monitoring.posture import CheckResult

DR_CHECK = "dr_ready"


def dr_check(readiness: DrReadiness) -> CheckResult:
    actual = "ready" if readiness.ready else "; ".join(readiness.gaps)
    return CheckResult(
        DR_CHECK,
        "DR ready: can be brought up in Australia Southeast",
        "recent geo backup (or a geo-secondary), room in a paired pool, standby site (or the "
        "primary's configuration recorded to make one), key usable there",
        actual[:300],
        readiness.ready,
    )


def add_dr_checks(result: SourceResult) -> None:
    """Add "DR ready" to the checks of every tenant a posture read covered and the DR refresh
    has assessed, counting it among the tenant's posture failures."""
    found = DrReadiness.objects.filter(tenant_id__in=list(result.updates))
    for readiness in found:
        values = result.updates[readiness.tenant_id]
        if "_checks" not in values:
            continue
        check = dr_check(readiness)
        values["_checks"] = [*values["_checks"], check]
        values["posture_failures"] = values.get("posture_failures", 0) + (not check.passed)

"""The posture check "DR ready": the security statement promises a recovery in Australia
Southeast, so a tenant with readiness gaps fails it (the gaps are its "actual")."""

from __future__ import annotations

from dr.models import DrReadiness
from monitoring.posture import CheckResult

DR_CHECK = "dr_ready"


def dr_check(readiness: DrReadiness) -> CheckResult:
    actual = "ready" if readiness.ready else "; ".join(readiness.gaps)
    return CheckResult(
        DR_CHECK,
        "DR ready: can be brought up in Australia Southeast",
        "recent geo backup, room in a paired pool, standby site, key usable there",
        actual[:300],
        readiness.ready,
    )

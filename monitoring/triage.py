"""Dismissing or resolving a Defender alert: the one write path for alert triage.

The state change is a single synchronous Security API call (204, idempotent in Defender), so it
runs in the request rather than as a queued operation; the snapshot row follows only once Azure
has accepted it, and every attempt, refused or failed ones included, is audited.
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count

from monitoring.models import DefenderAlert, TenantHealth
from monitoring.selectors import alert_for_user
from portal.audit import audit_record
from portal.azure.defender_alerts import AlertStateChange, alert_state_change
from portal.azure.errors import AzureError
from portal.models import AuditEvent
from portal.roles import TRIAGE_ALERT
from tenants.models import Tenant

REASON_MAX = 500
# What the alerts page offers: closing an open alert. Re-opening happens in Defender itself.
TRIAGE_CHANGES = (AlertStateChange.DISMISS, AlertStateChange.RESOLVE)


class TriageRefused(Exception):
    """The request was not acceptable (nothing was changed); the message says why."""


def _refuse(
    *, actor: AbstractBaseUser | AnonymousUser, alert: DefenderAlert, change: str, why: str
) -> TriageRefused:
    audit_record(
        action=f"alert.{change}",
        actor=actor,
        tenant=alert.tenant.slug if alert.tenant else "",
        outcome=AuditEvent.Outcome.FAILURE,
        details={"alert": alert.azure_id, "refused": why},
    )
    return TriageRefused(why)


def _recount_open_alerts(tenant: Tenant) -> None:
    """The dashboard's open-alert counts follow at once; the status itself waits for the next
    refresh, which re-evaluates every rule."""
    counts = dict(
        DefenderAlert.objects.filter(tenant=tenant, status__in=DefenderAlert.OPEN_STATUSES)
        .values_list("severity")
        .annotate(n=Count("pk"))
        .order_by()
    )
    TenantHealth.objects.filter(tenant=tenant).update(
        alerts_high=counts.get(DefenderAlert.Severity.HIGH, 0),
        alerts_medium=counts.get(DefenderAlert.Severity.MEDIUM, 0),
        alerts_low=counts.get(DefenderAlert.Severity.LOW, 0),
        alerts_informational=counts.get(DefenderAlert.Severity.INFORMATIONAL, 0),
    )


def alert_triage(
    *, actor: User | AnonymousUser, alert_pk: int, change: str, reason: str
) -> DefenderAlert:
    """Dismiss or resolve an open alert in Defender with a reason, then record it here.

    PermissionDenied without `portal.triage_alert`; 404 for an alert on a tenant the person may
    not see; TriageRefused (audited, nothing changed) for a missing reason, a closed alert or
    Azure refusing the change.
    """
    if not actor.has_perm(TRIAGE_ALERT):
        raise PermissionDenied("Only support staff and admins may dismiss or resolve alerts.")
    alert = alert_for_user(actor, alert_pk)
    if change not in {c.value for c in TRIAGE_CHANGES}:
        raise _refuse(actor=actor, alert=alert, change="triage", why=f"Unknown action {change!r}.")
    state_change = AlertStateChange(change)
    reason = reason.strip()
    if not reason:
        raise _refuse(actor=actor, alert=alert, change=change, why="Give a reason.")
    if len(reason) > REASON_MAX:
        raise _refuse(
            actor=actor,
            alert=alert,
            change=change,
            why=f"Keep the reason under {REASON_MAX} characters.",
        )
    if not alert.is_open:
        raise _refuse(
            actor=actor,
            alert=alert,
            change=change,
            why=f"The alert is already {alert.get_status_display().lower()}.",
        )
    try:
        alert_state_change(alert_id=alert.azure_id, change=state_change)
    except AzureError as exc:
        raise _refuse(
            actor=actor, alert=alert, change=change, why=f"Defender refused the change: {exc}"
        ) from exc
    with transaction.atomic():
        previous = alert.status
        alert.status = state_change.status
        alert.save(update_fields=["status"])
        if alert.tenant is not None:
            _recount_open_alerts(alert.tenant)
        audit_record(
            action=f"alert.{change}",
            actor=actor,
            tenant=alert.tenant.slug if alert.tenant else "",
            details={
                "alert": alert.azure_id,
                "title": alert.display_name,
                "severity": alert.severity,
                "from": previous,
                "to": alert.status,
                "reason": reason,
            },
        )
    return alert

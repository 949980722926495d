"""Notifications' write path: decide who gets what, record the deliveries, send them after
the caller's transaction commits, retry with backoff, never get in an operation's way."""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterable
from datetime import timedelta
from functools import partial
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from backups.restores import IN_PLACE, PARALLEL
from monitoring.models import DefenderAlert, PostureCheck, StatusChange
from notifications import messages
from notifications.channels import PermanentDeliveryError, TransientDeliveryError, send
from notifications.models import Delivery, DigestEntry, NotificationPreference
from notifications.recipients import admins, approvers_of, targets_for
from operations.models import Operation
from portal.audit import audit_record
from tenants.models import Tenant

log = logging.getLogger(__name__)

RESTORE_KINDS = (PARALLEL, IN_PLACE)
# How long one attempt may hold a delivery before another worker may try it.
CLAIM_SECONDS = 120


def _never_raise(what: str, record: Callable[[], object]) -> None:
    """Notifications ride along with state changes that matter more: a failure to record one
    is logged and swallowed (inside a savepoint, so the caller's transaction is intact)."""
    try:
        with transaction.atomic():
            record()
    except Exception:
        log.exception("Could not record the notifications for %s; nothing was sent", what)


def _record(
    message: messages.Message,
    *,
    event_key: str,
    people: Iterable[User],
    tenant: Tenant | None = None,
    operation: Operation | None = None,
) -> list[Delivery]:
    """A delivery per target not yet told about this happening; sent after commit."""
    created = []
    for target in targets_for(people):
        delivery, new = Delivery.objects.get_or_create(
            event_key=event_key,
            channel=target.channel,
            target=target.address,
            defaults={
                "event": message.event,
                "tenant": tenant,
                "operation": operation,
                "subject": message.subject[:300],
                "body": message.body,
                "facts": [list(fact) for fact in message.facts],
                "link": message.link,
                "next_attempt_at": timezone.now(),
            },
        )
        if new:
            delivery.recipients.set(target.people)
            created.append(delivery)
            transaction.on_commit(partial(enqueue_delivery, delivery.pk, 0.0))
    return created


def enqueue_delivery(delivery_id: int, countdown: float) -> None:
    """Hand a delivery to Celery; with the broker down it stays pending for the sweep."""
    from notifications.tasks import deliver

    try:
        deliver.apply_async(args=(delivery_id,), countdown=countdown)
    except Exception as exc:
        log.warning("Broker unavailable (%s): delivery %s left to the sweep", exc, delivery_id)


# --- Triggers -------------------------------------------------------------------------------


def operation_notify(*, operation: Operation) -> None:
    """Tell the people an operation's current state concerns: approvers while it waits for
    approval; the requester when it finished; the tenant's account manager after a restore.
    Call it after each state change (inside the same transaction is best); calling it twice
    for the same state sends nothing new."""
    _never_raise(f"operation #{operation.pk}", lambda: _operation_deliveries(operation))


def _operation_deliveries(operation: Operation) -> None:
    key = f"operation:{operation.pk}:{operation.state}"
    if operation.state == Operation.State.AWAITING_APPROVAL:
        people = approvers_of(operation.requested_by_id)
        _record(
            messages.approval_needed(operation),
            event_key=key,
            people=people,
            tenant=operation.tenant,
            operation=operation,
        )
        return
    if not operation.is_finished:
        return
    _record(
        messages.operation_finished(operation),
        event_key=key,
        people=[operation.requested_by],
        tenant=operation.tenant,
        operation=operation,
    )
    manager = operation.tenant.account_manager if operation.tenant else None
    if (
        operation.state == Operation.State.SUCCEEDED
        and operation.kind in RESTORE_KINDS
        and manager is not None
        and manager.pk != operation.requested_by_id
        and manager.is_active
    ):
        _record(
            messages.tenant_restored(operation),
            event_key=f"operation:{operation.pk}:restored",
            people=[manager],
            tenant=operation.tenant,
            operation=operation,
        )


def status_changes_notify(*, changes: Iterable[StatusChange]) -> None:
    """Tell each tenant's account manager that its health status changed. A tenant's first
    evaluation (no previous status) is not a change worth a message."""
    _never_raise("status changes", lambda: _status_deliveries(list(changes)))


def _status_deliveries(changes: list[StatusChange]) -> None:
    changes = [change for change in changes if change.from_status]
    ids = [change.tenant_id for change in changes]
    tenants = Tenant.objects.select_related("account_manager").in_bulk(ids)
    for change in changes:
        tenant = tenants.get(change.tenant_id)
        if tenant is None or tenant.account_manager is None:
            continue
        if not tenant.account_manager.is_active:
            continue
        message = messages.status_changed(
            tenant_name=tenant.display_name,
            slug=tenant.slug,
            from_status=change.get_from_status_display(),
            to_status=change.get_to_status_display(),
            at=change.at,
            reasons=list(change.reasons),
        )
        _record(
            message,
            # Not the row's id: bulk_create does not return ids on every database.
            event_key=f"status:{tenant.pk}:{change.at.isoformat()}:{change.to_status}",
            people=[tenant.account_manager],
            tenant=tenant,
        )


def security_digest_send() -> int:
    """One message to the admins naming the high-severity Defender alerts and posture failures
    found since the last digest (a digest, not a flood). Returns how many findings it named."""
    now = timezone.now()
    with transaction.atomic():
        # A check that passes again is forgotten, so failing once more is news again.
        DigestEntry.objects.filter(kind=DigestEntry.Kind.POSTURE).exclude(
            key__in=_posture_keys(PostureCheck.objects.filter(passed=False))
        ).delete()
        reported = set(DigestEntry.objects.values_list("kind", "key"))
        alerts = [
            alert
            for alert in DefenderAlert.objects.filter(
                severity=DefenderAlert.Severity.HIGH, status__in=DefenderAlert.OPEN_STATUSES
            ).select_related("tenant")
            if (DigestEntry.Kind.ALERT, alert.azure_id) not in reported
        ]
        failures = [
            check
            for check in PostureCheck.objects.filter(passed=False).select_related("tenant")
            if (DigestEntry.Kind.POSTURE, _posture_key(check)) not in reported
        ]
        if not alerts and not failures:
            return 0
        DigestEntry.objects.bulk_create(
            [DigestEntry(kind=DigestEntry.Kind.ALERT, key=a.azure_id, reported_at=now) for a in alerts]
            + [DigestEntry(kind=DigestEntry.Kind.POSTURE, key=_posture_key(c), reported_at=now)
               for c in failures]
        )  # fmt: skip
        message = messages.security_digest(
            alerts=[(_slug(a.tenant), a.display_name, a.generated_at) for a in alerts],
            failures=[(c.tenant.slug, c.title, c.actual) for c in failures],
        )
        _record(message, event_key=f"digest:{now.isoformat()}", people=admins())
    return len(alerts) + len(failures)


def _slug(tenant: Tenant | None) -> str:
    return tenant.slug if tenant is not None else "no tenant"


def _posture_key(check: PostureCheck) -> str:
    return f"{check.tenant_id}:{check.check_name}"


def _posture_keys(checks: Iterable[PostureCheck]) -> list[str]:
    return [_posture_key(check) for check in checks]


# --- Sending --------------------------------------------------------------------------------


def retry_delay(attempts: int) -> float:
    """Exponential backoff with jitter, so a webhook that is down is not hammered in step."""
    base = float(settings.NOTIFY_RETRY_BASE_SECONDS) * 2.0 ** max(attempts - 1, 0)
    return min(base * random.uniform(1.0, 1.25), float(settings.NOTIFY_RETRY_MAX_SECONDS))  # noqa: S311


def delivery_attempt(*, delivery_id: int) -> float | None:
    """Try to send a pending delivery once and record how it went. Returns the seconds to
    wait before the next attempt, or None when there is nothing more to do."""
    now = timezone.now()
    claimed = Delivery.objects.filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now),
        pk=delivery_id,
        status=Delivery.Status.PENDING,
    ).update(claimed_until=now + timedelta(seconds=CLAIM_SECONDS), last_attempt_at=now)
    if not claimed:
        return None  # sent, given up, gone, or another worker is on it
    delivery = Delivery.objects.get(pk=delivery_id)
    try:
        send(delivery)
    except (TransientDeliveryError, PermanentDeliveryError) as exc:
        return _record_failure(delivery, exc)
    Delivery.objects.filter(pk=delivery_id).update(
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
        attempts=delivery.attempts + 1,
        claimed_until=None,
        next_attempt_at=None,
    )
    return None


def _record_failure(delivery: Delivery, exc: Exception) -> float | None:
    attempts = delivery.attempts + 1
    failures = [*delivery.failures, {"at": timezone.now().isoformat(), "error": str(exc)}]
    final = isinstance(exc, PermanentDeliveryError) or attempts >= settings.NOTIFY_MAX_ATTEMPTS
    delay = None
    if not final:
        delay = retry_delay(attempts)
        if isinstance(exc, TransientDeliveryError) and exc.retry_after:
            delay = max(delay, min(exc.retry_after, settings.NOTIFY_RETRY_MAX_SECONDS))
    Delivery.objects.filter(pk=delivery.pk).update(
        status=Delivery.Status.FAILED if final else Delivery.Status.PENDING,
        attempts=attempts,
        failures=failures,
        last_error=str(exc),
        claimed_until=None,
        next_attempt_at=None if delay is None else timezone.now() + timedelta(seconds=delay),
    )
    log.warning(
        "Delivery %s (%s to %s) attempt %s failed%s: %s",
        delivery.pk, delivery.channel, delivery.target, attempts,
        "; giving up" if final else f"; next in {delay:.0f}s", exc,
    )  # fmt: skip
    return delay


def deliveries_sweep() -> int:
    """Re-enqueue pending deliveries well past their due time (the broker was down, a worker
    died mid-attempt). Returns how many."""
    overdue = timezone.now() - timedelta(seconds=settings.NOTIFY_SWEEP_GRACE_SECONDS)
    ids = list(
        Delivery.objects.filter(status=Delivery.Status.PENDING, next_attempt_at__lt=overdue)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=timezone.now()))
        .values_list("pk", flat=True)[:500]
    )
    for delivery_id in ids:
        enqueue_delivery(delivery_id, 0.0)
    return len(ids)


# --- Preferences ----------------------------------------------------------------------------


class PreferenceRefusedError(Exception):
    """The preferences cannot be saved as given; the message names the field and why."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def webhook_url_problem(url: str) -> str | None:
    """Why the worker must not post to this URL, or None. Only Teams' own webhook hosts (and
    loopback in the demo) are allowed, so the setting cannot aim the worker elsewhere."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    allowed = [pattern.lower() for pattern in settings.NOTIFY_TEAMS_WEBHOOK_HOSTS]
    if not any(host == p or (p.startswith("*.") and host.endswith(p[1:])) for p in allowed):
        return f"Webhooks may point only at {', '.join(allowed)} (not {host or 'no host'})."
    if parts.scheme != "https" and host not in ("127.0.0.1", "localhost"):
        return "A webhook URL must start with https://."
    return None


def notification_preference_update(
    *, person: User, by_email: bool, by_teams: bool, teams_webhook_url: str
) -> NotificationPreference:
    """Save the person's channels (audited). Refuses a Teams choice with nowhere to post."""
    url = teams_webhook_url.strip()
    if url:
        problem = webhook_url_problem(url)
        if problem:
            raise PreferenceRefusedError("teams_webhook_url", problem)
    if by_teams and not (url or settings.NOTIFY_TEAMS_WEBHOOK_URL):
        raise PreferenceRefusedError(
            "teams_webhook_url",
            "The portal has no shared Teams channel: give your channel's webhook URL.",
        )
    if by_email and not person.email:
        raise PreferenceRefusedError(
            "by_email", "Your account has no e-mail address (it comes from Entra ID)."
        )
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.update_or_create(
            person=person,
            defaults={"by_email": by_email, "by_teams": by_teams, "teams_webhook_url": url},
        )
        audit_record(
            action="notifications.preferences_changed",
            actor=person,
            details={"by_email": by_email, "by_teams": by_teams, "teams_webhook": bool(url)},
        )
    return preference

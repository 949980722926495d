"""What each notification says: subject, a sentence or two, facts and the link back."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.urls import reverse

from backups.restore_time import describe
from notifications.models import Event
from operations.kinds import kind_of
from operations.models import Operation


@dataclass(frozen=True)
class Message:
    event: Event
    subject: str
    body: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    link: str = ""


def absolute(path: str) -> str:
    """Links in mail and Teams leave the portal, so they need its public address."""
    base: str = settings.PORTAL_BASE_URL
    return base.rstrip("/") + path


def when(moment: object) -> str:
    if not isinstance(moment, datetime):
        return "—"
    return describe(moment, ZoneInfo(settings.PORTAL_TIME_ZONE))


def _kind_label(operation: Operation) -> str:
    try:
        return kind_of(operation.kind).label
    except LookupError:
        return operation.kind


def _person(user: object) -> str:
    if user is None:
        return "—"
    full_name: str = user.get_full_name()  # type: ignore[attr-defined]
    username: str = user.get_username()  # type: ignore[attr-defined]
    return f"{full_name} ({username})" if full_name else username


def _operation_facts(operation: Operation) -> list[tuple[str, str]]:
    facts = [
        ("Operation", f"#{operation.pk} {_kind_label(operation)}"),
        # Operations act on any subject (a tenant, a pool, the fleet); the label names it.
        (
            operation.get_subject_type_display(),
            f"{operation.subject_label} ({operation.subject_id})",
        ),
        ("Requested by", _person(operation.requested_by)),
        ("Reason", operation.reason),
    ]
    if operation.ticket:
        facts.append(("Ticket", operation.ticket))
    return facts


def approval_needed(operation: Operation) -> Message:
    facts = [*_operation_facts(operation), ("Approve before", when(operation.approval_expires_at))]
    return Message(
        event=Event.APPROVAL_NEEDED,
        subject=f"Approval needed: {_kind_label(operation)} of {operation.subject_label}",
        body=(
            f"{_person(operation.requested_by)} asks for a second person's approval. "
            "Nothing happens in Azure until someone approves; the request lapses at the time below."
        ),
        facts=facts,
        link=absolute(reverse("operations:detail", args=[operation.pk])),
    )


_FINISHED = {
    Operation.State.SUCCEEDED: (Event.OPERATION_SUCCEEDED, "succeeded"),
    Operation.State.FAILED: (Event.OPERATION_FAILED, "failed"),
    Operation.State.CANCELLED: (Event.OPERATION_CANCELLED, "was cancelled"),
}


def operation_finished(operation: Operation) -> Message:
    event, verb = _FINISHED[Operation.State(operation.state)]
    facts = [*_operation_facts(operation), ("Finished", when(operation.finished_at))]
    if operation.error_message:
        facts.append(("Error", operation.error_message))
    if operation.outcome:
        facts.append(("What it left behind", operation.outcome))
    return Message(
        event=event,
        subject=f"{_kind_label(operation)} of {operation.subject_label} {verb}",
        body=f"Your operation #{operation.pk} {verb}.",
        facts=facts,
        link=absolute(reverse("operations:detail", args=[operation.pk])),
    )


def tenant_restored(operation: Operation) -> Message:
    return Message(
        event=Event.TENANT_RESTORED,
        subject=f"{operation.subject_label} was restored",
        body=(
            f"A restore of {operation.subject_label}, one of your tenants, finished successfully."
        ),
        facts=[*_operation_facts(operation), ("Finished", when(operation.finished_at))],
        link=absolute(reverse("operations:detail", args=[operation.pk])),
    )


def status_changed(
    *, tenant_name: str, slug: str, from_status: str, to_status: str, at: object,
    reasons: Sequence[str],
) -> Message:  # fmt: skip
    was = from_status or "not yet known"
    return Message(
        event=Event.TENANT_STATUS_CHANGED,
        subject=f"{tenant_name} is now {to_status}",
        body=f"{tenant_name}, one of your tenants, changed from {was} to {to_status}.",
        facts=[
            ("Tenant", f"{tenant_name} ({slug})"),
            ("Since", when(at)),
            *(("Why", reason) for reason in reasons),
        ],
        link=absolute(reverse("tenants:detail", args=[slug])),
    )


def security_digest(
    *, alerts: Sequence[tuple[str, str, object]], failures: Sequence[tuple[str, str, str]]
) -> Message:
    """`alerts`: (tenant slug, alert name, generated at); `failures`: (slug, check, actual)."""
    parts = []
    if alerts:
        parts.append(f"{len(alerts)} new high-severity Defender alert(s)")
    if failures:
        parts.append(f"{len(failures)} new posture failure(s)")
    facts = [(f"Alert on {slug}", f"{name}, {when(at)}") for slug, name, at in alerts]
    facts += [(f"Posture on {slug}", f"{check}: {actual}") for slug, check, actual in failures]
    return Message(
        event=Event.SECURITY_DIGEST,
        subject="Security digest: " + " and ".join(parts),
        body="Found since the last digest. Each is listed once; the portal shows what is still open.",
        facts=facts,
        link=absolute(reverse("admin:index")),
    )

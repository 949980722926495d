from __future__ import annotations

from celery import shared_task
from django.conf import settings

from portal.audit_anchors import audit_anchor


@shared_task(name="portal.ping", soft_time_limit=10, time_limit=20)
def ping() -> str:
    """Proves the broker, a worker and the result backend are wired together."""
    return "pong"


@shared_task(name="portal.anchor_audit_chain", soft_time_limit=60, time_limit=120)
def anchor_audit_chain() -> str:
    """Beat's periodic anchor of the audit chain outside the database (docs/audit.md)."""
    anchor = audit_anchor(file=settings.AUDIT_ANCHOR_FILE or None)
    return f"{anchor.length}:{anchor.head_hash}"

"""What /healthz reports: the portal's database (the probe's verdict), the broker and how old the
fleet's last refresh is (reported, not judged: restarting a web instance fixes neither)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from monitoring.models import RefreshRun


def database_ok() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return True


def broker_reachable() -> bool:
    """One connection attempt within the enqueue timeout; errors are not shown (the probe is
    public and a broker error names hosts)."""
    try:
        with Connection(
            settings.CELERY_BROKER_URL, connect_timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT
        ) as broker:
            broker.ensure_connection(max_retries=0)
    except Exception:
        return False
    return True


def last_fleet_refresh() -> dict[str, Any]:
    finished = (
        RefreshRun.objects.filter(kind=RefreshRun.Kind.HOT, finished_at__isnull=False)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if finished is None:
        return {"finished_at": None, "age_seconds": None, "stale": True}
    age = (timezone.now() - finished).total_seconds()
    return {
        "finished_at": finished.isoformat(),
        "age_seconds": round(age),
        "stale": age > 2 * settings.MONITORING_HOT_INTERVAL_SECONDS,
    }


def health_report() -> dict[str, Any]:
    return {
        "status": "ok" if database_ok() else "down",
        "broker": "ok" if broker_reachable() else "unreachable",
        "fleet_refresh": last_fleet_refresh(),
    }

"""What the health endpoints report. /healthz: the database and the broker (either down: 503,
naming it) and how old the fleet's last refresh is (reported only). /healthz/live: the database
alone, for App Service's health check, which takes instances out of rotation and restarts them:
that cannot fix a broker outage, during which pages still work (docs/telemetry.md)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone
from kombu import Connection

from monitoring.models import RefreshRun


def database_ok() -> bool:
    """One query; errors are not shown (the probe is public and they name hosts)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return False
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
    """`failing` names the parts down; the fleet refresh is not read when the database is."""
    database = database_ok()
    broker = broker_reachable()
    failing = [part for part, ok in (("database", database), ("broker", broker)) if not ok]
    return {
        "status": "failing" if failing else "ok",
        "failing": failing,
        "database": "ok" if database else "unreachable",
        "broker": "ok" if broker else "unreachable",
        "fleet_refresh": last_fleet_refresh() if database else None,
    }


def liveness_report() -> dict[str, Any]:
    database = database_ok()
    return {"status": "ok" if database else "failing", "failing": [] if database else ["database"]}

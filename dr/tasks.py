"""Celery tasks of disaster recovery: thin wrappers over dr.services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="dr.refresh_readiness", soft_time_limit=1200, time_limit=1500)
def refresh_readiness() -> int:
    """Hourly, after the backups refresh has recorded each database's newest geo backup."""
    from dr.services import readiness_refresh

    return readiness_refresh().ready

"""Celery tasks of the refresh pipeline: thin wrappers over monitoring.services.

Azure failures never fail a refresh (they are recorded per source), so nothing here retries;
the next scheduled run is the retry."""

from __future__ import annotations

from celery import shared_task

from monitoring.models import RefreshRun


@shared_task(name="monitoring.refresh_hot", soft_time_limit=240, time_limit=300)
def refresh_hot() -> int:
    from monitoring.services import fleet_refresh, slow_sources_catch_up_due

    run = fleet_refresh(kind=RefreshRun.Kind.HOT)
    if slow_sources_catch_up_due():
        # On its own task: reading posture for a whole new fleet takes longer than this one may.
        refresh_catch_up.delay()
    return run.pk


@shared_task(name="monitoring.refresh_catch_up", soft_time_limit=1200, time_limit=1500)
def refresh_catch_up() -> list[int]:
    """Backups and posture for the tenants never read by them (see services.CATCH_UP_QUIET)."""
    from monitoring.services import slow_sources_catch_up

    return [run.pk for run in slow_sources_catch_up()]


@shared_task(name="monitoring.refresh_backups", soft_time_limit=1200, time_limit=1500)
def refresh_backups() -> int:
    from monitoring.services import fleet_refresh

    return fleet_refresh(kind=RefreshRun.Kind.BACKUPS).pk


@shared_task(name="monitoring.refresh_posture", soft_time_limit=1200, time_limit=1500)
def refresh_posture() -> int:
    from monitoring.services import fleet_refresh

    return fleet_refresh(kind=RefreshRun.Kind.POSTURE).pk


@shared_task(name="monitoring.refresh_run", soft_time_limit=1200, time_limit=1500)
def refresh_run(run_id: int) -> None:
    """Run a "refresh now" that a person asked for."""
    from monitoring.services import refresh_run_execute

    run = RefreshRun.objects.filter(pk=run_id, started_at__isnull=True).first()
    if run is None:
        return
    refresh_run_execute(run=run)


def enqueue_refresh_run(run_id: int) -> None:
    refresh_run.delay(run_id)

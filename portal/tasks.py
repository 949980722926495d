from __future__ import annotations

from celery import shared_task


@shared_task(name="portal.ping", soft_time_limit=10, time_limit=20)
def ping() -> str:
    """Proves the broker, a worker and the result backend are wired together."""
    return "pong"

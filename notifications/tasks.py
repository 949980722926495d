from __future__ import annotations

from typing import Any

from celery import shared_task

from notifications.services import deliveries_sweep, delivery_attempt, security_digest_send


# Nobody waits for a delivery's result: the row is the record.
@shared_task(
    name="notifications.deliver",
    bind=True,
    ignore_result=True,
    max_retries=None,
    soft_time_limit=60,
    time_limit=90,
)
def deliver(self: Any, delivery_id: int) -> None:
    """Send one delivery; the row counts attempts and decides when to give up."""
    delay = delivery_attempt(delivery_id=delivery_id)
    if delay is not None:
        raise self.retry(countdown=delay)


@shared_task(name="notifications.sweep", soft_time_limit=60, time_limit=90)
def sweep_deliveries() -> int:
    return deliveries_sweep()


@shared_task(name="notifications.security_digest", soft_time_limit=120, time_limit=180)
def send_security_digest() -> int:
    return security_digest_send()

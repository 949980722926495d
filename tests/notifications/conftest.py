"""A real SMTP server and a real webhook receiver (the demo's own), on spare ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from notifications.demo_receivers import MailCatcher, WebhookReceiver
from portal.celery import app as celery_app
from tests.conftest import free_port

# The monitoring tests' seeded fleet and emulator control, for the status-change trigger.
from tests.monitoring.conftest import control, fleet  # noqa: F401


@pytest.fixture
def mailbox(tmp_path, settings) -> Iterator[MailCatcher]:
    """Django's real SMTP backend talking to an aiosmtpd server that keeps what it receives."""
    catcher = MailCatcher(tmp_path / "mail", port=free_port())
    catcher.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = catcher.controller.port
    yield catcher
    catcher.stop()


@pytest.fixture
def teams_channel(tmp_path, settings) -> Iterator[WebhookReceiver]:
    """The portal's shared Teams channel, as a local incoming-webhook receiver."""
    receiver = WebhookReceiver(tmp_path / "teams", port=free_port())
    receiver.start()
    settings.NOTIFY_TEAMS_WEBHOOK_URL = f"http://127.0.0.1:{receiver.port}/webhook/fleet-ops"
    yield receiver
    receiver.stop()


@pytest.fixture
def celery_eager(settings) -> Iterator[None]:
    """Tasks run in the test's process when enqueued (retries too, at once)."""
    settings.NOTIFY_RETRY_BASE_SECONDS = 0.0
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = False
    # Eager apply_async still takes a producer, which binds the app's producer pool to the
    # broker URL of the moment; forget it so later tests use theirs.
    celery_app.amqp._producer_pool = None  # type: ignore[attr-defined]
    # Eager runs also build the result backend for the broker URL of the moment; forget it too.
    celery_app._backend_cache = None  # type: ignore[attr-defined]
    celery_app._local.__dict__.pop("backend", None)  # type: ignore[attr-defined]

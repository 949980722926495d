"""The Celery app of worker processes in the engine's tests and benchmark: the portal's own app
with the test kinds registered (`celery -A tests.operations.worker_app worker`)."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from portal.celery import app  # noqa: E402
from tests.operations.kinds_for_tests import register_test_kinds  # noqa: E402

register_test_kinds()

__all__ = ["app"]

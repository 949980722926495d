"""The Celery app of the benchmark's worker processes: the portal's app plus the bench kinds."""

from __future__ import annotations

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
django.setup()

from bench.operation_kinds import register_bench_kinds  # noqa: E402
from portal.celery import app  # noqa: E402

register_bench_kinds()

__all__ = ["app"]

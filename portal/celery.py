"""The Celery app. Configuration comes from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
# The current app is per thread: without a default, a request served on another thread
# (runserver, the live test server) sends tasks through Celery's bare fallback app, which has
# none of the portal's configuration.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

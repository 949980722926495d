"""The Celery app. Configuration comes from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import celeryd_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
# The current app is per thread: without a default, a request served on another thread
# (runserver, the live test server) sends tasks through Celery's bare fallback app, which has
# none of the portal's configuration.
app.set_default()
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@celeryd_init.connect
def _workers_reconnect_patiently(conf: Any, **kwargs: Any) -> None:
    """The settings give up on Redis after a couple of seconds so that a page never hangs on
    an enqueue; a worker, though, should wait out a Redis restart rather than exit."""
    conf.broker_connection_retry = True
    conf.broker_connection_max_retries = None  # forever
    conf.result_backend_transport_options = {}  # Celery's default: about 20 s of retries

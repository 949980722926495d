from __future__ import annotations

import os

import django
from django.core.handlers.wsgi import WSGIHandler

from portal.telemetry import telemetry_configure

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
# get_wsgi_application() in three steps, telemetry in the middle: after django.setup(), whose
# LOGGING set-up would drop the log exporter's handler from the root logger, and before the
# handler loads the middleware, because Django's instrumentation puts its own first. Here, not
# in AppConfig.ready(), so that each gunicorn worker (and runserver) has its own exporters.
django.setup(set_prefix=False)
telemetry_configure(role="web")
application = WSGIHandler()

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest


def portal(request: HttpRequest) -> dict[str, Any]:
    return {
        "PORTAL_TIME_ZONE": settings.PORTAL_TIME_ZONE,
        "PORTAL_ENVIRONMENT": settings.PORTAL_ENVIRONMENT,
    }

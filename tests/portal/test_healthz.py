"""/healthz: the probe's verdict (the database) with the broker and the fleet refresh's age."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from monitoring.models import RefreshRun
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


def test_it_says_the_broker_is_unreachable_but_stays_up(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json()["broker"] == "unreachable"


@pytest.mark.integration
def test_it_reaches_a_running_broker(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    assert client.get("/healthz").json()["broker"] == "ok"


def test_it_reports_the_age_of_the_last_finished_fleet_refresh(client, settings):
    settings.MONITORING_HOT_INTERVAL_SECONDS = 120
    now = timezone.now()
    RefreshRun.objects.create(
        kind=RefreshRun.Kind.HOT, requested_at=now, finished_at=now - timedelta(seconds=300)
    )
    RefreshRun.objects.create(kind=RefreshRun.Kind.HOT, requested_at=now)  # still running
    RefreshRun.objects.create(
        kind=RefreshRun.Kind.POSTURE, requested_at=now, finished_at=now
    )  # not the fleet's health

    refresh = client.get("/healthz").json()["fleet_refresh"]

    assert 299 <= refresh["age_seconds"] <= 310
    assert refresh["stale"] is True


def test_a_fleet_never_refreshed_is_stale(client):
    assert client.get("/healthz").json()["fleet_refresh"] == {
        "finished_at": None, "age_seconds": None, "stale": True,
    }  # fmt: skip

"""/healthz: the database and the broker (503 naming what is down) with the fleet refresh's age;
/healthz/live: the database alone, for App Service's health check."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import OperationalError
from django.utils import timezone

from monitoring.models import RefreshRun
from tests.conftest import free_port

pytestmark = pytest.mark.django_db


def test_a_broker_down_is_a_503_naming_it_while_the_liveness_probe_stays_up(client, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    response = client.get("/healthz")

    assert response.status_code == 503
    report = response.json()
    assert (report["status"], report["failing"]) == ("failing", ["broker"])
    assert (report["database"], report["broker"]) == ("ok", "unreachable")
    assert "127.0.0.1" not in response.content.decode()  # no host names on a public probe
    live = client.get("/healthz/live")
    assert (live.status_code, live.json()) == (200, {"status": "ok", "failing": []})


@pytest.mark.integration
def test_with_a_running_broker_it_is_200(client, settings, redis_url):
    settings.CELERY_BROKER_URL = redis_url
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["broker"] == "ok"


def test_a_database_that_does_not_answer_is_a_503_on_both_probes(client, monkeypatch):
    def refuse(*args, **kwargs):
        raise OperationalError("unable to open database file")

    monkeypatch.setattr("portal.health.connection.cursor", refuse)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["failing"] == ["database", "broker"]
    assert response.json()["fleet_refresh"] is None
    live = client.get("/healthz/live")
    assert (live.status_code, live.json()["failing"]) == (503, ["database"])


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

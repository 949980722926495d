"""Readiness waits for the backups refresh: a tenant whose geo backups monitoring has never read
is "not yet assessed" (not a gap, not a posture failure), and a backups refresh asks for
readiness at once instead of at the next hourly run."""

from __future__ import annotations

import pytest

from dr.models import DrReadiness
from dr.services import readiness_refresh
from monitoring.models import PostureCheck, RefreshRun
from monitoring.services import fleet_refresh

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_tenants_whose_backups_were_never_read_are_not_assessed_yet(azure_emulator, fleet):
    summary = readiness_refresh()

    assert summary.tenants == 0
    assert not DrReadiness.objects.exists()
    assert not PostureCheck.objects.filter(check_name="dr_ready").exists()


def test_a_backups_refresh_asks_for_readiness_after_it_commits(
    azure_emulator, fleet, monkeypatch, django_capture_on_commit_callbacks
):
    asked: list[bool] = []
    monkeypatch.setattr("dr.tasks.refresh_readiness.delay", lambda: asked.append(True))

    with django_capture_on_commit_callbacks(execute=True):
        fleet_refresh(kind=RefreshRun.Kind.HOT)
    assert asked == []

    with django_capture_on_commit_callbacks(execute=True):
        fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    assert asked == [True]

    assert readiness_refresh().tenants == len(fleet)

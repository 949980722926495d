"""The monitoring tests' fleet: the catalogue loaded from the shared emulator's seeded fleet,
and every fault, throttle and app state change undone after each test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from azure_emulator.testing import RunningEmulator
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant


@pytest.fixture
def fleet(azure_emulator: RunningEmulator, db: Any) -> list[Tenant]:
    return [Tenant.objects.create(**catalogue_entry(t)) for t in azure_emulator.tenants]


def seeded(emulator: RunningEmulator, issue: str) -> dict[str, Any]:
    """The first seeded tenant with that issue (stopped_site, backup_local, ...)."""
    return next(t for t in emulator.tenants if issue in t["seeded_issues"])


def compliant(emulator: RunningEmulator) -> dict[str, Any]:
    return next(t for t in emulator.tenants if not t["seeded_issues"])


@pytest.fixture
def control(azure_emulator: RunningEmulator) -> Iterator[Callable[..., Any]]:
    """`control(method, path, body)`; faults and throttling are cleared and changed apps put
    back afterwards."""
    sites: dict[str, dict[str, Any]] = {}

    def call(method: str, path: str, body: Any = None) -> Any:
        if path == "sites/state":
            before = azure_emulator.control("GET", f"resource?id={body['site_id']}")
            sites.setdefault(
                body["site_id"],
                {
                    "state": before["properties"]["state"],
                    "healthy": "health" not in before.get("_meta", {}),
                },
            )
        return azure_emulator.control(method, path, body)

    try:
        yield call
    finally:
        azure_emulator.control("DELETE", "faults")
        azure_emulator.control(
            "POST", "throttle", {"reads": {"size": 250, "refill_per_second": 25}, "reset": True}
        )
        for site_id, original in sites.items():
            azure_emulator.control("POST", "sites/state", {"site_id": site_id, **original})

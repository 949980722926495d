"""The DR tests' fleet: the catalogue loaded from the shared emulator's seeded fleet (with its
seeded DR tiers), and faults undone after each test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from azure_emulator.testing import RunningEmulator
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant


@pytest.fixture
def fleet(azure_emulator: RunningEmulator, db: Any) -> list[Tenant]:
    return [Tenant.objects.create(**catalogue_entry(t)) for t in azure_emulator.tenants]


@pytest.fixture
def control(azure_emulator: RunningEmulator) -> Iterator[Any]:
    try:
        yield azure_emulator.control
    finally:
        azure_emulator.control("DELETE", "faults")

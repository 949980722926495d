"""One emulator process for the whole emulator test session (starting one costs ~1 s)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from azure_emulator.testing import RunningEmulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    with RunningEmulator(fleet_size=12, lro_seconds=1) as running:
        yield running

"""One emulator process for the whole emulator test session (starting one costs about a second).

Tests that change Azure state ask for ``fresh``, which reseeds the fleet (and clears faults and
throttling) so they do not depend on each other's leftovers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from azure_emulator.testing import RunningEmulator


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    with RunningEmulator(fleet_size=12, lro_seconds=1) as running:
        yield running


@pytest.fixture(scope="session")
def credential(emulator: RunningEmulator) -> Any:
    return emulator.credential()


@pytest.fixture
def fresh(emulator: RunningEmulator) -> RunningEmulator:
    emulator.reset()
    return emulator


@pytest.fixture(scope="session")
def sql_client(emulator: RunningEmulator, credential: Any) -> Callable[..., Any]:
    """Build a SqlManagementClient for a subscription, pointed at the emulator."""
    from azure.mgmt.sql import SqlManagementClient

    def build(subscription_id: str, **kwargs: Any) -> Any:
        return SqlManagementClient(
            credential,
            subscription_id,
            base_url=emulator.arm_endpoint,
            connection_verify=emulator.ca_bundle,
            polling_interval=0.2,
            **kwargs,
        )

    return build


@pytest.fixture
def tenant(fresh: RunningEmulator) -> dict[str, Any]:
    """The first seeded tenant, on a freshly reseeded fleet."""
    return fresh.tenants[0]

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


def drill_databases_delete(emulator: RunningEmulator) -> None:
    """Begin deleting every drill database left on the paired servers (the session's emulator
    is shared: a drill database left in a `-dr` pool takes room later readiness tests count)."""
    from portal.azure import sql
    from portal.azure.errors import AzureError

    for server_id in {t["geo_server_id"] for t in emulator.tenants if t.get("geo_server_id")}:
        for database in sql.databases_list(server_id):
            if database.tags.get("fleetwise-role") == "dr-drill":
                try:
                    sql.database_delete_begin(database.id)
                except AzureError as error:  # an earlier test's delete still under way
                    if "ConflictingDatabaseOperation" not in str(error):
                        raise


@pytest.fixture
def drill_databases_removed(azure_emulator: RunningEmulator) -> Iterator[None]:
    yield
    drill_databases_delete(azure_emulator)


def _away(emulator: RunningEmulator, settings: Any, admin: Any, tenant: Tenant) -> Iterator[Tenant]:
    from tests.dr.repatriation_fleet import failed_over

    settings.OPERATIONS_WAIT_SECONDS = 0.3
    settings.OPERATIONS_ADMISSION_RETRY_SECONDS = 0.3
    tenant, standby_before = failed_over(emulator, tenant, admin)
    tenant.standby_before = standby_before  # type: ignore[attr-defined]
    yield tenant
    emulator.reset()
    emulator.control("POST", "clock", {"offset_seconds": 0})


@pytest.fixture
def away(
    azure_emulator: RunningEmulator, fleet: Any, control: Any, settings: Any, admin_user: Any
) -> Iterator[Tenant]:
    """A tenant failed over (by geo-restore) to Australia Southeast during an outage that has
    since ended (`tenant.standby_before`: its standby's connection strings before the
    failover); the emulator is reseeded afterwards."""
    from tests.dr.repatriation_fleet import movable

    yield from _away(azure_emulator, settings, admin_user, movable(azure_emulator))


@pytest.fixture
def away_by_link(
    azure_emulator: RunningEmulator, fleet: Any, control: Any, settings: Any, admin_user: Any
) -> Iterator[Tenant]:
    """A tenant with a standing geo-secondary, failed over through its replication link (its
    old primary re-joined as secondary) during an outage that has since ended."""
    from tests.dr.repatriation_fleet import replicated

    yield from _away(azure_emulator, settings, admin_user, replicated(azure_emulator))


def standby_remove(recipe: Any) -> None:
    """Delete a standby site (and its plan, left empty) a test made from a recipe: the session's
    emulator is shared, and later tests expect the seeded tenant without a standby to have none."""
    from portal.azure import sites

    sites.site_delete(recipe.site_id, with_empty_plan=True)


def unpaired(emulator: RunningEmulator, fleet: list[Tenant]) -> Tenant:
    """A tenant made not DR ready by the catalogue alone (its paired server blanked): every
    seeded tenant is ready now (the one without a standby on its recorded configuration, those
    with locally redundant backups by their geo-secondary). Re-run readiness afterwards."""
    skip = {t["slug"] for t in emulator.tenants if t.get("geo_secondary_database_id")}
    skip |= {t["slug"] for t in emulator.tenants if not t["seeded_issues"]}
    skip |= {t["slug"] for t in emulator.tenants if "no_standby_site" in t["seeded_issues"]}
    tenant = next(t for t in fleet if t.slug not in skip)
    Tenant.objects.filter(pk=tenant.pk).update(geo_sql_server_id="")
    tenant.refresh_from_db()
    return tenant

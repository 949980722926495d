"""Shared by the failover tests: the seeded fleet assessed for DR, Australia East downed in the
emulator, the outage declared by one admin and approved by another."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dr.services import failover_declare, readiness_refresh
from monitoring.models import RefreshRun
from monitoring.services import fleet_refresh
from operations.models import Operation
from operations.services import operation_approve
from portal import roles
from tests.factories import UserFactory


def admins() -> tuple[Any, Any]:
    return (
        UserFactory(username="ada.admin@fleetwise.example", groups=[roles.ADMINS]),
        UserFactory(username="blake.admin@fleetwise.example", groups=[roles.ADMINS]),
    )


def assess_then_down(emulator: Any) -> None:
    """Readiness is read while Australia East answers (as the hourly check would have), then
    the region goes down."""
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS)
    readiness_refresh()
    emulator.control("POST", "faults/outage", {"region": "australiaeast", "active": True})


def declared_and_approved(*, enqueue: Any = None) -> Operation:
    ada, blake = admins()
    extra = {"enqueue": enqueue} if enqueue else {}
    parent = failover_declare(
        region="australiaeast", reason="Australia East is down", declared_by=ada, **extra
    )
    return operation_approve(operation=parent, approver=blake, **extra)


def emulator_resource(emulator: Any, resource_id: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = emulator.control("GET", "state")["resources"].get(
        resource_id.lower()
    )
    return found


def geo_restores_begun(emulator: Any) -> Counter[str]:
    """Geo-restores Azure accepted, by target database id (lower case), from the emulator's
    records of its long-running operations (kept whole, unlike its request log)."""
    return Counter(
        row["resource_id"].lower()
        for row in emulator.control("GET", "operations")["operations"]
        if row["operation"] == "databases.create_or_update" and row["labels"].get("restore")
    )

from __future__ import annotations

import io
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from operations.models import Operation
from portal.management.commands.load_demo import catalogue_entry
from portal.models import AuditEvent
from tenants.services import tenant_import
from tests.request_log import request_marker, requests_since

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def tenant(azure_emulator):
    # Not a geo-replicated tenant: Azure refuses to rename a database in a replication
    # relationship, so the portal refuses an in-place restore of one (tested elsewhere).
    plain = [t for t in azure_emulator.tenants if not t.get("geo_secondary_database_id")]
    entry = catalogue_entry(plain[-1])
    tenant_import(entries=[entry], actor=None)
    return entry["slug"]


def two_hours_ago() -> str:
    return (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_the_command_goes_through_the_same_checks_and_creates_the_operation(tenant, support):
    out = io.StringIO()
    call_command(
        "restore_tenant", tenant, "--at", two_hours_ago(), "--mode", "in-place", "--requested-by", support.username,
        "--reason", "INC-7 customer data loss", "--yes", stdout=out,
    )  # fmt: skip
    operation = Operation.objects.get()
    assert (operation.kind, operation.state) == ("restore_in_place", "awaiting_approval")
    assert operation.requested_by == support
    assert "needs a second person's approval" in out.getvalue()
    assert AuditEvent.objects.get(action="operation.requested").actor == support.username


def test_someone_without_the_role_is_refused(tenant, account_manager):
    with pytest.raises(CommandError, match="permission to request restores"):
        call_command(
            "restore_tenant", tenant, "--at", two_hours_ago(), "--mode", "parallel",
            "--requested-by", account_manager.username, "--reason", "x", "--yes", stdout=io.StringIO(),
        )  # fmt: skip
    assert not Operation.objects.exists()


def test_an_unknown_tenant_or_person_is_refused(tenant, support):
    with pytest.raises(CommandError, match="cannot see a tenant 'nobody'"):
        call_command(
            "restore_tenant",
            "nobody",
            "--mode",
            "parallel",
            "--requested-by",
            support.username,
            "--reason",
            "x",
            "--yes",
        )
    with pytest.raises(CommandError, match="No active portal user"):
        call_command(
            "restore_tenant",
            tenant,
            "--mode",
            "parallel",
            "--requested-by",
            "ghost@example.com",
            "--reason",
            "x",
            "--yes",
        )


def test_a_time_outside_the_window_is_refused_before_anything_is_queued(tenant, support):
    long_ago = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with pytest.raises(CommandError, match="before the earliest restore point"):
        call_command(
            "restore_tenant", tenant, "--at", long_ago, "--mode", "parallel", "--requested-by", support.username,
            "--reason", "x", "--yes", stdout=io.StringIO(),
        )  # fmt: skip
    assert not Operation.objects.exists()


@pytest.mark.parametrize(
    ("at", "extra"),
    [
        ("0001-01-01 00:00", []),
        ("0001-01-01 00:00", ["--utc"]),
        ("9999-12-31 23:59", ["--utc"]),
        ("9999-12-31T23:59-05:00", []),
    ],
)
def test_a_time_at_the_edge_of_the_calendar_is_a_clear_refusal(tenant, support, at, extra):
    with pytest.raises(CommandError, match="edge of the calendar|earliest restore point|future"):
        call_command(
            "restore_tenant", tenant, "--at", at, *extra, "--mode", "parallel",
            "--requested-by", support.username, "--reason", "x", "--yes", stdout=io.StringIO(),
        )  # fmt: skip
    assert not Operation.objects.exists()


def test_without_yes_and_without_a_terminal_it_stops_before_asking_azure(
    tenant, support, azure_emulator, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{tenant}\n"))
    before = request_marker(azure_emulator)
    with pytest.raises(CommandError, match="No terminal to type the confirmation in"):
        call_command(
            "restore_tenant", tenant, "--at", two_hours_ago(), "--mode", "parallel",
            "--requested-by", support.username, "--reason", "INC-9", stdout=io.StringIO(),
        )  # fmt: skip
    assert requests_since(azure_emulator, before) == []
    assert not Operation.objects.exists()


def test_a_blank_reason_is_refused_before_anything_else(
    tenant, support, azure_emulator, monkeypatch
):
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{tenant}\n"))
    before = request_marker(azure_emulator)
    with pytest.raises(CommandError, match="--reason must say why"):
        call_command(
            "restore_tenant", tenant, "--at", two_hours_ago(), "--mode", "parallel",
            "--requested-by", support.username, "--reason", "  \t ", stdout=io.StringIO(),
        )  # fmt: skip
    assert requests_since(azure_emulator, before) == []
    assert not Operation.objects.exists()

"""`manage.py restore_tenant … --wait` with a real Celery worker, Redis and the emulator: the
command prints the steps as the worker does them and ends the way a script can test."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from operations.models import Operation
from operations.services import operation_approve
from portal import roles
from portal.management.commands.load_demo import catalogue_entry
from tenants.services import tenant_import
from tests.factories import UserFactory
from tests.processes import wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def restore_command(slug: str, user: str, mode: str) -> list[str]:
    at = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    return [
        "restore_tenant", slug, "--at", at, "--utc", "--mode", mode, "--requested-by", user,
        "--reason", "INC-77 restore drill", "--yes", "--wait", "--wait-timeout", "240",
    ]  # fmt: skip


@pytest.fixture
def slug(azure_emulator) -> str:
    entry = catalogue_entry(azure_emulator.tenants[5])
    tenant_import(entries=[entry], actor=None)
    return str(entry["slug"])


def test_a_parallel_restore_with_wait_prints_each_step_and_ends_when_it_succeeds(slug, worker):
    support = UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])
    out = io.StringIO()
    call_command(*restore_command(slug, support.username, "parallel"), stdout=out)

    operation = Operation.objects.get()
    assert operation.state == "succeeded", worker.log_tail()
    text = out.getvalue()
    for step in operation.steps.order_by("position"):
        assert f"step {step.position}/4 done" in text, text
    assert text.rstrip().splitlines()[-1].startswith(f"Operation #{operation.pk} succeeded at ")


def test_an_in_place_restore_with_wait_says_it_awaits_approval_and_fails_when_rolled_back(
    slug, worker, azure_emulator
):
    support = UserFactory(username="sam.support@fleetwise.example", groups=[roles.SUPPORT])
    admin = UserFactory(username="ada.admin@fleetwise.example", groups=[roles.ADMINS])
    out = io.StringIO()
    ended: dict[str, object] = {}

    def run_command() -> None:
        try:
            call_command(*restore_command(slug, support.username, "in-place"), stdout=out)
            ended["ok"] = True
        except CommandError as exc:
            ended["error"] = exc
        finally:
            connection.close()

    azure_emulator.control(
        "POST",
        "faults/fail-next",
        {"operation": "databases.rename", "after": 1, "count": 1, "status": 409, "code": "Conflict",
         "message": "Another operation is in progress on the database."},
    )  # fmt: skip
    command = threading.Thread(target=run_command)
    try:
        command.start()
        wait_for(lambda: "second person's approval (until" in out.getvalue(), what="approval")
        operation_approve(operation=Operation.objects.get(), approver=admin)
        command.join(timeout=240)
    finally:
        azure_emulator.control("DELETE", "faults")
    assert not command.is_alive()
    error = ended.get("error")
    assert isinstance(error, CommandError), (out.getvalue(), worker.log_tail())
    assert error.returncode == 1
    assert "failed and was rolled back" in str(error)
    assert "Rolled back: the tenant is back on its original database" in str(error)
    assert "undone" in out.getvalue()

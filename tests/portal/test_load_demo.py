from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from portal.models import AuditEvent
from tenants.models import Tenant

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


def test_the_demo_catalogue_is_the_emulator_fleet_and_passes_validation(azure_emulator, settings):
    settings.PORTAL_ENVIRONMENT = "demo"
    settings.PORTAL_BREAK_GLASS_USERNAME = "demo"
    call_command("load_demo", stdout=io.StringIO())
    fleet = azure_emulator.tenants
    assert Tenant.objects.count() == len(fleet)
    first = Tenant.objects.get(slug=fleet[0]["slug"])
    assert first.database_id == fleet[0]["database_id"]
    assert first.key_vault_key_id.endswith(f"/keys/{fleet[0]['key_name']}")
    assert AuditEvent.objects.filter(action="tenant.create").count() == len(fleet)

    manager = next(p for p in azure_emulator.demo["people"] if p["tenants"])
    assigned = set(
        Tenant.objects.filter(account_manager__username=manager["preferred_username"]).values_list(
            "slug", flat=True
        )
    )
    assert assigned == set(manager["tenants"])

    # Loading again changes nothing.
    call_command("load_demo", stdout=io.StringIO())
    assert AuditEvent.objects.filter(action="tenant.update").count() == 0


def test_load_demo_refuses_to_run_outside_the_demo(settings):
    settings.PORTAL_ENVIRONMENT = "production"
    with pytest.raises(CommandError, match="only with PORTAL_ENVIRONMENT=demo"):
        call_command("load_demo")

"""Loads the demo: the break-glass superuser and the tenant catalogue of the emulator's fleet."""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from portal.models import StaffProfile
from tenants.services import tenant_import

DEMO_PASSWORD = "demo"  # noqa: S105 - the demo's documented break-glass password, demo only


def _versionless(key_id: str) -> str:
    """The catalogue names the TDE key, not one version of it (rotation adds versions)."""
    head, _, tail = key_id.rstrip("/").rpartition("/")
    return head if "/keys/" in head else key_id


def catalogue_entry(tenant: dict[str, Any]) -> dict[str, Any]:
    """A tenant record of the emulator's fleet, in the catalogue's terms."""
    return {
        "slug": tenant["slug"],
        "display_name": tenant["display_name"],
        "region": tenant["region"],
        "tags": {"fleetwise-tenant": tenant["slug"]},
        "subscription_id": tenant["subscription_id"],
        "resource_group": tenant["resource_group"],
        "app_service_site_id": tenant["site_id"],
        "app_service_plan_id": tenant["plan_id"],
        "sql_server_id": tenant["sql_server_id"],
        "database_id": tenant["database_id"],
        "elastic_pool_id": tenant["elastic_pool_id"],
        "key_vault_key_id": _versionless(tenant["key_id"]),
        "app_insights_id": tenant["app_insights_id"],
        "geo_sql_server_id": tenant["geo_server_id"],
        "dr_tier": tenant.get("dr_tier", 2),
    }


class Command(BaseCommand):
    help = "Demo only: create the break-glass superuser and import the emulator's fleet."

    def handle(self, *args: Any, **options: Any) -> None:
        if settings.PORTAL_ENVIRONMENT != "demo":
            raise CommandError("load_demo runs only with PORTAL_ENVIRONMENT=demo.")
        path = settings.PORTAL_EMULATOR_STATE_DIR / "demo.json"
        try:
            demo = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise CommandError(
                f"{path} is missing: run `python -m azure_emulator init` first."
            ) from exc

        user_model = get_user_model()
        with transaction.atomic():
            superuser, created = user_model.objects.get_or_create(
                username=settings.PORTAL_BREAK_GLASS_USERNAME or "demo",
                defaults={"is_staff": True, "is_superuser": True},
            )
            if created:
                superuser.set_password(DEMO_PASSWORD)
                superuser.save()

            # Account managers exist before their first sign-in so tenants can be assigned to
            # them; sign-in finds them by Entra object id and fills in the rest.
            managers: dict[str, Any] = {}
            for person in demo["people"]:
                if not person.get("tenants"):
                    continue
                profile = StaffProfile.objects.filter(
                    entra_tid=demo["tenant_id"].lower(), entra_oid=person["oid"].lower()
                ).first()
                if profile is None:
                    user = user_model.objects.create_user(username=person["preferred_username"])
                    profile = StaffProfile.objects.create(
                        user=user,
                        entra_tid=demo["tenant_id"].lower(),
                        entra_oid=person["oid"].lower(),
                        only_assigned_tenants=True,
                    )
                for slug in person["tenants"]:
                    managers[slug] = profile.user

            created_count, updated_count = tenant_import(
                entries=[catalogue_entry(t) for t in demo["fleet"]["tenants"]],
                actor=None,
                account_managers=managers,
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo loaded: {created_count} tenants created, {updated_count} updated; "
                f"break-glass user {superuser.get_username()!r}."
            )
        )

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.audit import audit_record
from portal.services import role_groups_sync


class Command(BaseCommand):
    help = (
        "Reset the Support, Account managers and Admins groups to the permissions of portal.roles."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        role_groups_sync()
        audit_record(action="roles.sync", actor_name="manage.py sync_role_groups")
        self.stdout.write(self.style.SUCCESS("Role groups match portal.roles."))

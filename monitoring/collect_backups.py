"""Backups, hourly: LTR backups and the newest geo backup for every database, read per server
(two lists per server, not calls per database). The restore window's start comes with the
database list on every hot refresh (`earliestRestoreDate`)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

from django.conf import settings

from monitoring.fleet import Fleet, SourceResult
from portal.azure import inventory
from portal.azure.errors import AzureError


def read_backups(fleet: Fleet, now: datetime) -> SourceResult:
    result = SourceResult()
    # Azure restores up to its last log backup (every 5-10 minutes) and publishes no "latest
    # restore point": the latest restorable time is now minus that lag while PITR runs.
    latest = now - timedelta(minutes=settings.RESTORE_LATEST_LAG_MINUTES)
    for key, server_id in fleet.servers.items():
        tenants = fleet.by_server[key]
        try:
            ltr = inventory.ltr_backups_by_server(server_id)
            geo = inventory.geo_backups_by_server(server_id)
        except AzureError as exc:
            result.fail(tenants, f"Backup lists failed: {exc}")
            continue
        by_database: dict[str, list[inventory.LtrBackupRow]] = defaultdict(list)
        for backup in ltr:
            by_database[backup.database_name.lower()].append(backup)
        for tenant in tenants:
            name = tenant.database_name.lower()
            backups = sorted(
                by_database.get(name, []),
                key=lambda b: b.backup_time or now,
                reverse=True,
            )
            result.set(
                tenant,
                backup_latest=latest,
                geo_backup_latest=geo.get(name),
                ltr_backups=[
                    {
                        "id": b.id,
                        "name": b.name,
                        "backup_time": b.backup_time.isoformat() if b.backup_time else None,
                        "expires": b.expires.isoformat() if b.expires else None,
                        "redundancy": b.redundancy,
                    }
                    for b in backups
                ],
            )
    return result

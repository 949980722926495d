"""Microsoft.Sql (azure-mgmt-sql 4.0.0, api-version 2025-01-01); paths and shapes per docs/azure-behaviours.md §1-4.

Backups are not stored: restore points, LTR backups and geo backups (recoverable databases) are
derived from each database's creation time, retention policies and the clock, so they move with
time as Azure's do. A restore creates the database at once in state ``Restoring`` and an LRO
brings it ``Online``; its lineage goes in ``_meta.lineage`` (seen in the control snapshot).

Error codes come from the Databases_CreateOrUpdate error list of the REST spec where one fits
(``InvalidLiveDatabase``, ``SourceDatabaseNotFound``, ``RemoteDatabaseExists``,
``TargetElasticPoolDoesNotExist``, ``SubscriptionTooManyCreateUpdateRequests``, ...).

The package is split by resource: ``servers``, ``databases``, ``restores``, ``backups`` (restore
points, retention, LTR), ``pools``, ``keys`` (server keys and protectors), ``replication``
(geo-secondaries, replication links, failover) and ``auditing``, all registering on the one
``router`` of ``common``; importing the package registers every route.
"""

from __future__ import annotations

from azure_emulator.providers.sql import (  # noqa: F401 - imported to register their routes
    auditing,
    backups,
    databases,
    keys,
    pool_lifecycle,
    pools,
    replication,
    restores,
    servers,
)
from azure_emulator.providers.sql.common import record_dropped, router

__all__ = ["record_dropped", "router"]

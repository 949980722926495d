"""The set of tenants one refresh covers, indexed by the Azure ids that lists return.

ARM ids are case-insensitive and lists may change their casing, so every index is lower-case.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, NoReturn

from tenants.models import Tenant


@dataclass
class SourceResult:
    """What one source read: field values per tenant pk, tenants it could not read (with the
    reason), and rows for other tables (pools, alerts) keyed as the source likes."""

    updates: dict[int, dict[str, Any]] = field(default_factory=lambda: defaultdict(dict))
    failed: dict[int, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def set(self, tenant: Tenant, **values: Any) -> None:
        self.updates[tenant.pk].update(values)

    def fail(self, tenants: list[Tenant], reason: str) -> None:
        for tenant in tenants:
            self.failed[tenant.pk] = reason
            self.updates.pop(tenant.pk, None)


def watched(tenant: Tenant) -> Tenant:
    """The tenant as monitoring reads it: the copy it runs on now.

    A tenant failed over to Australia Southeast is watched there — its standby site, the copy of
    its database, that copy's pool and server, that region's metrics — not at home, whose stale
    database no customer uses. The result is an in-memory copy that refuses to be saved (the
    catalogue's home resources never change here). The standby's App Service plan is not in the
    catalogue, so its plan fields are not read while the tenant is away.
    """
    active = tenant.active
    if active.at_home:
        return tenant
    twin = copy.copy(tenant)
    twin.region = active.region
    twin.sql_server_id = active.sql_server_id
    twin.database_id = active.database_id
    twin.elastic_pool_id = active.elastic_pool_id
    twin.app_service_site_id = active.site_id
    twin.app_service_plan_id = ""
    setattr(twin, "save", _never_saved)  # noqa: B010 - shadows the model's method on purpose
    return twin


def _never_saved(*args: Any, **kwargs: Any) -> NoReturn:
    raise RuntimeError("monitoring's view of a tenant away from home is never saved")


@dataclass
class Fleet:
    tenants: list[Tenant]

    def __post_init__(self) -> None:
        self.tenants = [watched(t) for t in self.tenants]
        self.by_site = {t.app_service_site_id.lower(): t for t in self.tenants}
        self.by_plan: dict[str, list[Tenant]] = defaultdict(list)
        self.by_server: dict[str, list[Tenant]] = defaultdict(list)
        self.by_subscription: dict[str, list[Tenant]] = defaultdict(list)
        self.by_pool: dict[str, list[Tenant]] = defaultdict(list)
        for tenant in self.tenants:
            self.by_plan[tenant.app_service_plan_id.lower()].append(tenant)
            self.by_server[tenant.sql_server_id.lower()].append(tenant)
            self.by_subscription[tenant.subscription_id.lower()].append(tenant)
            self.by_pool[tenant.elastic_pool_id.lower()].append(tenant)
        self.by_database = {t.database_id.lower(): t for t in self.tenants}
        # One original-cased id per server (list calls need a parseable id; any casing works).
        self.servers = {key: group[0].sql_server_id for key, group in self.by_server.items()}
        self.subscriptions = {
            key: group[0].subscription_id for key, group in self.by_subscription.items()
        }

    def tenant_of_resource(self, resource_id: str) -> Tenant | None:
        """The tenant owning a site or database id (or anything below one)."""
        key = resource_id.lower()
        return self.by_site.get(key) or self.by_database.get(key)

"""The set of tenants one refresh covers, indexed by the Azure ids that lists return.

ARM ids are case-insensitive and lists may change their casing, so every index is lower-case.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

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


@dataclass
class Fleet:
    tenants: list[Tenant]

    def __post_init__(self) -> None:
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

from __future__ import annotations

from typing import Any

import factory
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tenants.models import Tenant

SUBSCRIPTION = "11111111-2222-3333-4444-555555555555"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"person{n}@fleetwise.example")
    email = factory.SelfAttribute("username")
    first_name = "Test"
    last_name = factory.Sequence(lambda n: f"Person {n}")
    is_staff = True
    password = factory.django.Password("correct horse battery staple")

    @factory.post_generation
    def groups(self, create, extracted, **kwargs):
        for name in extracted or ():
            self.groups.add(Group.objects.get(name=name))


def _rg(slug: str) -> str:
    return f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-fw-{slug}/providers"


_SERVER = f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg-fw-data/providers/Microsoft.Sql/servers/sql-fw-aue-01"


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"tenant-{n:03d}")
    display_name = factory.LazyAttribute(lambda t: t.slug.replace("-", " ").title())
    status = Tenant.Status.ACTIVE
    region = "australiaeast"
    subscription_id = SUBSCRIPTION
    resource_group = factory.LazyAttribute(lambda t: f"rg-fw-{t.slug}")
    app_service_site_id = factory.LazyAttribute(
        lambda t: f"{_rg(t.slug)}/Microsoft.Web/sites/app-fw-{t.slug}"
    )
    app_service_plan_id = factory.LazyAttribute(
        lambda t: f"{_rg(t.slug)}/Microsoft.Web/serverfarms/plan-fw-{t.slug}"
    )
    sql_server_id = _SERVER
    database_id = factory.LazyAttribute(lambda t: f"{_SERVER}/databases/db-{t.slug}")
    elastic_pool_id = f"{_SERVER}/elasticPools/pool-01"
    key_vault_key_id = factory.LazyAttribute(
        lambda t: f"https://kv-fw.vault.azure.net/keys/tde-{t.slug}"
    )
    app_insights_id = factory.LazyAttribute(
        lambda t: f"{_rg(t.slug)}/Microsoft.Insights/components/appi-fw-{t.slug}"
    )


def restore_parameters(tenant: Tenant, *, mode: str = "parallel", **overrides: Any) -> Any:
    """A restore's typed parameters as `restore_plan` would build them for `tenant` (names only:
    for tests that never reach Azure)."""
    from backups.restores import RestoreParameters

    name = tenant.database_id.rsplit("/", 1)[-1]
    target = f"{name}-restore-20260101-000000"
    pre = f"{name}-pre-restore-20260101-000000"
    values: dict[str, Any] = {
        "mode": mode,
        "source": "point_in_time",
        "create_mode": "PointInTimeRestore",
        "database_id": tenant.database_id,
        "server_id": tenant.sql_server_id,
        "elastic_pool_id": tenant.elastic_pool_id,
        "subscription_id": tenant.subscription_id,
        "location": tenant.region,
        "site_id": tenant.app_service_site_id,
        "target_name": target,
        "target_id": f"{tenant.sql_server_id}/databases/{target}",
        "point_in_time": "2026-01-01T00:00:00+00:00",
        "source_database_id": tenant.database_id,
        **(
            {
                "pre_restore_name": pre,
                "pre_restore_id": f"{tenant.sql_server_id}/databases/{pre}",
                "pre_restore_expires_at": "2026-01-15T00:00:00+00:00",
            }
            if mode == "in_place"
            else {}
        ),
    }
    values.update(overrides)
    return RestoreParameters(**values)

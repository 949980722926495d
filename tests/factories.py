from __future__ import annotations

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

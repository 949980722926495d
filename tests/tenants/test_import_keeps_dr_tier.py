"""The catalogue import carries each tenant's DR tier (the demo and the benchmark load their
fleet through it; the failover order depends on it)."""

from __future__ import annotations

import pytest

from tenants.models import Tenant
from tenants.services import tenant_import
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_an_imported_entry_keeps_its_tier_and_a_changed_tier_is_updated():
    template = TenantFactory.build(slug="acme")
    entry = {
        "slug": "acme",
        "display_name": template.display_name,
        "subscription_id": template.subscription_id,
        "resource_group": template.resource_group,
        "app_service_site_id": template.app_service_site_id,
        "app_service_plan_id": template.app_service_plan_id,
        "sql_server_id": template.sql_server_id,
        "database_id": template.database_id,
        "elastic_pool_id": template.elastic_pool_id,
        "key_vault_key_id": template.key_vault_key_id,
        "dr_tier": 1,
    }
    assert tenant_import(entries=[entry], actor=None) == (1, 0)
    assert Tenant.objects.get(slug="acme").dr_tier == 1
    assert tenant_import(entries=[{**entry, "dr_tier": 3}], actor=None) == (0, 1)
    assert Tenant.objects.get(slug="acme").dr_tier == 3

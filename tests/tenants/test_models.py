from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from tests.factories import SUBSCRIPTION, TenantFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("field", "bad_value", "message"),
    [
        (
            "database_id",
            "/subscriptions/x/resourceGroups/rg/providers/Microsoft.Sql/servers/s/databases/d",
            "SQL database",
        ),
        ("app_service_site_id", "app-fw-acme", "App Service site"),
        (
            "app_service_plan_id",
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Web/sites/x",
            "App Service plan",
        ),
        (
            "elastic_pool_id",
            f"/subscriptions/{SUBSCRIPTION}/resourceGroups/rg/providers/Microsoft.Sql/servers/s",
            "elastic pool",
        ),
        ("sql_server_id", "https://portal.azure.com/#resource/whatever", "SQL server"),
        ("key_vault_key_id", "http://kv.vault.azure.net/keys/tde", "Key Vault key"),
        ("subscription_id", "not-a-guid", "subscription id"),
    ],
)
def test_a_malformed_resource_id_is_refused_with_a_message_naming_the_field(
    field, bad_value, message
):
    tenant = TenantFactory.build(slug="acme", **{field: bad_value})
    with pytest.raises(ValidationError) as excinfo:
        tenant.full_clean()
    errors = excinfo.value.message_dict
    assert field in errors
    assert message in errors[field][0]


def test_resource_ids_match_whatever_their_casing():
    tenant = TenantFactory.build(slug="acme")
    tenant.database_id = tenant.database_id.replace(
        "/Microsoft.Sql/servers/", "/microsoft.sql/SERVERS/"
    )
    tenant.full_clean()


def test_a_database_on_another_server_is_refused():
    tenant = TenantFactory.build(slug="acme")
    tenant.database_id = tenant.database_id.replace("sql-fw-aue-01", "sql-fw-aue-02")
    with pytest.raises(ValidationError) as excinfo:
        tenant.full_clean()
    assert excinfo.value.message_dict["database_id"] == [
        "This resource is not on the tenant's SQL server."
    ]


def test_a_resource_in_another_subscription_is_refused():
    tenant = TenantFactory.build(slug="acme")
    tenant.app_service_site_id = tenant.app_service_site_id.replace(
        SUBSCRIPTION, "99999999-2222-3333-4444-555555555555"
    )
    with pytest.raises(ValidationError) as excinfo:
        tenant.full_clean()
    assert excinfo.value.message_dict["app_service_site_id"] == [
        "This resource is not in the tenant's subscription."
    ]


def test_a_well_formed_tenant_is_valid_and_knows_its_database_name():
    tenant = TenantFactory.build(slug="acme")
    tenant.full_clean()
    assert tenant.database_name == "db-acme"

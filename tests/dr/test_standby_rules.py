"""Which of a primary site's settings a standby may carry, and where the standby goes (pure)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from dr.standby import StandbyRecipe, recipe_from, settings_to_keep
from portal.azure.site_blueprint import SiteBlueprint
from tenants.models import Tenant

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
SUB = "/subscriptions/00000000-0000-0000-0000-000000000001"
REFERENCE = "@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/db/)"


@pytest.mark.parametrize(
    ("name", "value", "kept"),
    [
        ("FLEETWISE_TENANT", "acme", True),
        ("WEBSITE_HEALTHCHECK_MAXPINGFAILURES", "10", True),
        ("DB_PASSWORD", REFERENCE, True),  # a reference is never the secret itself
        ("DB_PASSWORD", "hunter2", False),
        ("STRIPE_API_KEY", "sk_live_x", False),
        ("SIGNING_SECRET", "abc", False),
        ("OAUTH_TOKEN", "abc", False),
        (
            "APPLICATIONINSIGHTS_CONNECTION_STRING",
            "InstrumentationKey=1;IngestionEndpoint=x",
            False,
        ),
        ("STORAGE", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=Zm9v", False),
        ("UPLOAD_URL", "https://a.blob.core.windows.net/c?sv=2024&sig=abc", False),
        ("LEGACY_DB", "Server=x;User Id=u;Password=p", False),
    ],
)
def test_a_setting_is_kept_only_when_it_is_a_reference_or_does_not_look_secret(name, value, kept):
    keep, left_out = settings_to_keep({name: value})
    assert (name in keep) is kept
    assert (left_out == [name]) is not kept


def _blueprint(**changes):
    base = {
        "kind": "app,linux",
        "https_only": True,
        "client_cert_enabled": False,
        "key_vault_reference_identity": "SystemAssigned",
        "identity_ids": [f"{SUB}/resourceGroups/rg-sec/providers/x/id-app"],
        "system_identity": False,
        "tags": {"owner": "fleet"},
        "config": {"min_tls_version": "1.2", "ftps_state": "Disabled"},
        "app_settings": {"FLEETWISE_TENANT": "acme", "DB_PASSWORD": "hunter2"},
        "plan_sku_name": "P1v3",
        "plan_sku_tier": "PremiumV3",
        "plan_kind": "linux",
        "plan_reserved": True,
    }
    return SiteBlueprint(**{**base, **changes})


def _tenant():
    return Tenant(
        slug="acme",
        app_service_site_id=f"{SUB}/resourceGroups/rg-acme/providers/Microsoft.Web/sites/app-acme",
        app_service_plan_id=(
            f"{SUB}/resourceGroups/rg-acme/providers/Microsoft.Web/serverfarms/asp-acme"
        ),
        geo_sql_server_id=f"{SUB}/resourceGroups/rg-sql-ase/providers/Microsoft.Sql/servers/s-ase",
    )


def test_the_standby_goes_beside_the_paired_server_named_after_the_primary():
    recipe = recipe_from(_tenant(), _blueprint(), NOW)
    web = f"{SUB}/resourceGroups/rg-sql-ase/providers/Microsoft.Web"
    assert recipe.site_id == f"{web}/sites/app-acme-ase"
    assert recipe.plan_id == f"{web}/serverfarms/asp-acme-ase"
    assert recipe.location == "australiasoutheast"
    assert recipe.tags() == {
        "owner": "fleet",
        "fleetwise-tenant": "acme",
        "fleetwise-role": "standby",
    }


def test_the_recipe_carries_no_secret_and_names_what_it_left_out():
    recipe = recipe_from(_tenant(), _blueprint(), NOW)
    assert recipe.parts().app_settings == {"FLEETWISE_TENANT": "acme"}
    assert recipe.left_out == ["DB_PASSWORD"]
    assert "hunter2" not in repr(recipe)
    # Survives being kept as JSON.
    assert StandbyRecipe(**vars(recipe)).parts() == recipe.parts()


def test_a_key_vault_reference_resolved_by_the_sites_own_identity_is_flagged():
    flagged = recipe_from(_tenant(), _blueprint(app_settings={"DB": REFERENCE}), NOW)
    assert any("system-assigned identity" in note for note in flagged.notes)
    shared = _blueprint(
        app_settings={"DB": REFERENCE}, key_vault_reference_identity=f"{SUB}/x/id-app"
    )
    assert recipe_from(_tenant(), shared, NOW).notes == []

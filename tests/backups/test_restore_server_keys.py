"""A restore of a tenant whose server's protector is a Key Vault key (the legacy server of the
fleet of 20): every version in use since the point must still be a server key and enabled."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from backups.services import RestoreRefusedError, RestoreRequest, restore_plan
from operations.models import Operation
from portal.azure import keyvault, sql
from portal.management.commands.load_demo import catalogue_entry
from tenants.models import Tenant
from tenants.services import tenant_import

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.fixture
def tenant(large_emulator) -> Tenant:
    entry = next(t for t in large_emulator.tenants if t.get("key_level") == "server")
    tenant_import(entries=[catalogue_entry(entry)], actor=None)
    return Tenant.objects.get(slug=entry["slug"])


def _two_hours_ago() -> RestoreRequest:
    when = (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%d %H:%M:%S")
    return RestoreRequest(mode="parallel", when=when, in_utc=True)


def _current_version(tenant: Tenant) -> str:
    uri = sql.encryption_protector(tenant.sql_server_id).uri
    assert uri
    return uri


def test_a_server_level_tenants_plan_checks_the_versions_are_server_keys(tenant, support):
    plan = restore_plan(tenant=tenant, user=support, request=_two_hours_ago())

    finding = dict(plan.checks)["TDE key"]
    assert "server-level key" in finding and "server keys of the server" in finding
    assert _current_version(tenant).rsplit("/", 1)[-1][:8] in finding
    assert not plan.parameters.get("key_uris")


def test_a_version_in_use_since_the_point_that_is_no_longer_a_server_key_blocks_the_restore(
    tenant, support, monkeypatch
):
    current = _current_version(tenant).lower()
    keys = sql.server_keys(tenant.sql_server_id)
    monkeypatch.setattr(
        sql, "server_keys", lambda server_id: [k for k in keys if (k.uri or "").lower() != current]
    )

    with pytest.raises(RestoreRefusedError) as refused:
        restore_plan(tenant=tenant, user=support, request=_two_hours_ago())

    assert "no longer keys of the server" in refused.value.message
    assert current.rsplit("/", 1)[-1][:8] in refused.value.message
    assert not Operation.objects.exists()


def test_a_disabled_server_key_version_blocks_the_restore(tenant, support, monkeypatch):
    current = _current_version(tenant).lower()
    versions = [
        dataclasses.replace(v, enabled=v.kid.lower() != current)
        for v in keyvault.key_versions(tenant.key_vault_key_id)
    ]
    monkeypatch.setattr(keyvault, "key_versions", lambda key_id: versions)

    with pytest.raises(RestoreRefusedError) as refused:
        restore_plan(tenant=tenant, user=support, request=_two_hours_ago())

    assert "are disabled" in refused.value.message

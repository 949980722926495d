"""The tenant page's restore shortcuts carry what they point at into the restore form, end to
end: refresh through the SDKs against the emulator, the page, the form, its polled panel."""

from __future__ import annotations

import html
import re

import pytest

from backups.services import restore_snapshot_refresh
from monitoring.models import RefreshRun, TenantHealth
from monitoring.services import fleet_refresh
from tests.monitoring.conftest import compliant

pytestmark = pytest.mark.django_db


def _selected(body: str, backup_id: str) -> bool:
    return f'<option value="{backup_id}" selected>' in html.unescape(body)


def test_restore_this_backup_preselects_that_long_term_backup(
    client, support, azure_emulator, fleet
):
    slug = compliant(azure_emulator)["slug"]
    tenant = next(t for t in fleet if t.slug == slug)
    fleet_refresh(kind=RefreshRun.Kind.BACKUPS, tenants=[tenant])
    backup = TenantHealth.objects.get(tenant=tenant).ltr_backups[-1]
    assert backup["id"].startswith("/subscriptions/") and "longTermRetention" in backup["id"]
    client.force_login(support)

    page = client.get(f"/fleet/{slug}/").content.decode()
    assert f'name="long_term_backup_id" value="{backup["id"]}"' in page
    shortcut = {
        "source": "long_term_backup",
        "mode": "parallel",
        "long_term_backup_id": backup["id"],
        "reading": "2026-11-30T10:15",
    }
    # The restore window was never collected: the form asks for it and its panel, once the
    # worker has collected it, comes back with that backup chosen.
    form = client.post(f"/fleet/{slug}/restore/", shortcut).content.decode()
    assert 'id="restore-window-pending"' in form
    restore_snapshot_refresh(tenant=tenant)
    panel = client.get(
        f"/fleet/{slug}/restore/snapshot", {"long_term_backup_id": backup["id"]}
    ).content.decode()
    assert _selected(panel, backup["id"])
    # Collected already: the form opens with it chosen at once.
    again = client.post(f"/fleet/{slug}/restore/", shortcut).content.decode()
    assert _selected(again, backup["id"])
    assert re.search(r'<input [^>]*value="long_term_backup"[^>]* checked', again)

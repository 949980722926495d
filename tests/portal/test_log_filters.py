"""An expected 403 is one log line with its reason, not a traceback."""

from __future__ import annotations

import logging

import pytest

from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def test_a_refused_page_is_logged_on_one_line_with_its_reason(client, account_manager, caplog):
    TenantFactory(slug="acme")
    client.force_login(account_manager)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.get("/fleet/acme/restore/").status_code == 403

    [record] = [r for r in caplog.records if r.name == "django.request"]
    assert record.exc_info is None
    assert record.getMessage().startswith("Forbidden (Permission denied): /fleet/acme/restore/")
    assert "\n" not in caplog.text.strip()

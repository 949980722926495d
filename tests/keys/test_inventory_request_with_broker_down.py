"""Opening the rotate page asks a worker for the key inventory; Redis being down must not
turn that page into an error."""

from __future__ import annotations

import pytest

from keys.inventory import key_inventory_request
from keys.models import KeyInventory
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


@pytest.mark.usefixtures("dead_broker")
def test_asking_for_the_inventory_with_redis_down_is_logged_not_raised(
    django_capture_on_commit_callbacks, caplog
):
    tenant = TenantFactory()
    with django_capture_on_commit_callbacks(execute=True):
        key_inventory_request(tenant=tenant)
    assert "could not enqueue the key inventory refresh" in caplog.text
    assert not KeyInventory.objects.filter(tenant=tenant).exists()

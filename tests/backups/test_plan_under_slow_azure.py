"""The restore plan page against a slow or throttled Azure (the emulator's fault injection):
a web worker is never tied up for more than a few seconds, a short throttle is waited out once,
and a long one is a refusal that says so."""

from __future__ import annotations

import time

import pytest

from operations.models import Operation
from tests.backups.test_views import form_data, restore_url
from tests.backups.test_views import tenant as tenant  # noqa: F401 - the fixture

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

BUDGET = 4.0
# What a page may take beyond the Azure budget: Django itself, and a loaded test machine.
SLACK = 3.5


@pytest.fixture
def faults(azure_emulator, settings):
    settings.AZURE_WEB_BUDGET_SECONDS = BUDGET
    azure_emulator.control("DELETE", "faults")
    yield azure_emulator
    azure_emulator.control("DELETE", "faults")


def post_plan(client, tenant) -> tuple[float, str, int]:
    started = time.monotonic()
    response = client.post(restore_url(tenant), form_data())
    return time.monotonic() - started, response.content.decode(), response.status_code


def test_a_slow_azure_is_a_refusal_within_the_page_budget(client, support, tenant, faults):
    client.force_login(support)
    faults.control("POST", "faults/latency", {"operation": "databases.get", "ms": 20_000})
    elapsed, page, status = post_plan(client, tenant)
    assert elapsed < BUDGET + SLACK, f"the page waited {elapsed:.1f} s on Azure"
    assert status == 400
    assert 'id="refusal"' in page and "Nothing was queued" in page
    assert not Operation.objects.exists()


def test_every_slow_read_of_the_plan_shares_one_budget(client, support, tenant, faults):
    client.force_login(support)
    # Each read alone fits its own timeouts; together they would take far longer than a page may.
    faults.control("POST", "faults/latency", {"operation": "*", "ms": 2_500})
    elapsed, page, status = post_plan(client, tenant)
    assert elapsed < BUDGET + SLACK, f"the page waited {elapsed:.1f} s on Azure"
    assert status == 400
    assert "busy or slow to answer" in page or "could not be asked" in page


def test_a_long_throttle_is_refused_at_once_instead_of_waited_out(client, support, tenant, faults):
    client.force_login(support)
    faults.control(
        "POST",
        "faults/fail-next",
        {"operation": "elastic_pools.get", "count": 5, "status": 429, "code": "TooManyRequests",
         "message": "Too many requests (injected).", "retry_after": 30},
    )  # fmt: skip
    elapsed, page, status = post_plan(client, tenant)
    assert elapsed < SLACK, f"the page waited {elapsed:.1f} s for a 30 s Retry-After"
    assert status == 400
    assert "busy or slow to answer" in page and "TooManyRequests" in page
    assert not Operation.objects.exists()


def test_a_short_throttle_is_waited_out_once_and_the_plan_is_shown(client, support, tenant, faults):
    client.force_login(support)
    faults.control(
        "POST",
        "faults/fail-next",
        {"operation": "databases.get", "count": 1, "status": 429, "code": "TooManyRequests",
         "message": "Too many requests (injected).", "retry_after": 1},
    )  # fmt: skip
    elapsed, page, status = post_plan(client, tenant)
    assert status == 200, page
    assert 'name="plan"' in page
    assert 1 <= elapsed < BUDGET + SLACK
    statuses = [
        r["status"]
        for r in faults.control("GET", "requests")["requests"]
        if r["operation"] == "databases.get"
    ]
    # The throttled read was retried once (the plan reads the database again later, for the
    # keys at the restore point, so the retry is not necessarily the last read).
    assert statuses.count(429) == 1
    assert statuses[statuses.index(429) + 1] == 200


def test_outside_a_page_the_clients_keep_the_patient_worker_profile(azure_emulator):
    from portal.azure.clients import azure_clients
    from portal.azure.web_profile import web_budget

    assert not azure_clients().web_profile
    with web_budget(5):
        assert azure_clients().web_profile
    assert not azure_clients().web_profile

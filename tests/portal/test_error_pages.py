"""403, 404 and 500 in the portal's look, with a way back; the favicon on every page."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import path

from portal import urls as portal_urls
from tests.factories import TenantFactory

pytestmark = pytest.mark.django_db


def _broken(request):
    raise RuntimeError("boom")


urlpatterns = [path("broken/", _broken), *portal_urls.urlpatterns]
handler403 = portal_urls.handler403
handler404 = portal_urls.handler404
handler500 = portal_urls.handler500


def test_an_unknown_page_is_the_portals_404_with_the_user_bar(client, support):
    client.force_login(support)
    response = client.get("/fleet/no-such-tenant/")

    assert response.status_code == 404
    text = response.text
    assert "There is nothing here" in text
    assert 'id="user-tools"' in text
    assert 'href="/">Back to the fleet' in text
    assert "portal/favicon.svg" in text


def test_a_refusal_is_the_portals_403_with_the_user_bar(client, account_manager):
    TenantFactory(slug="acme")
    client.force_login(account_manager)
    response = client.get("/fleet/acme/restore/")

    assert response.status_code == 403
    assert "You are not allowed to do this" in response.text
    assert 'id="user-tools"' in response.text


def test_a_crash_is_the_portals_500_without_touching_the_database(settings, support):
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    client.force_login(support)
    response = client.get("/broken/")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "boom" not in response.text
    assert 'href="/">Back to the fleet' in response.text

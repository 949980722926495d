from __future__ import annotations

import pytest

from portal.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


def test_break_glass_is_off_by_default(client, settings):
    settings.PORTAL_BREAK_GLASS_USERNAME = ""
    assert client.get("/auth/break-glass/").status_code == 404
    assert "break-glass" not in client.get("/auth/sign-in/").content.decode()


def test_the_named_superuser_can_sign_in_and_it_is_audited(client, settings):
    settings.PORTAL_BREAK_GLASS_USERNAME = "breakglass"
    UserFactory(username="breakglass", is_superuser=True)
    response = client.post("/auth/break-glass/", {"username": "breakglass", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    event = AuditEvent.objects.get(action="auth.break_glass")
    assert (event.outcome, event.actor) == ("success", "breakglass")


def test_other_accounts_cannot_use_break_glass_even_with_the_right_password(client, settings):
    settings.PORTAL_BREAK_GLASS_USERNAME = "breakglass"
    UserFactory(username="someone", is_superuser=True)
    response = client.post("/auth/break-glass/", {"username": "someone", "password": PASSWORD})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.break_glass")
    assert (event.outcome, event.actor) == ("failure", "someone")


def test_a_wrong_password_is_refused_and_audited(client, settings):
    settings.PORTAL_BREAK_GLASS_USERNAME = "breakglass"
    UserFactory(username="breakglass", is_superuser=True)
    client.post("/auth/break-glass/", {"username": "breakglass", "password": "guess"})
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.get(action="auth.break_glass").outcome == "failure"


def test_the_admin_login_page_leads_to_entra_sign_in(client):
    response = client.get("/login/?next=/tenants/tenant/")
    assert response.status_code == 302
    assert response["Location"] == "/auth/sign-in/?next=%2Ftenants%2Ftenant%2F"

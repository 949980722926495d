"""The whole sign-in through MSAL against the emulator's identity endpoint."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model

from portal import roles
from portal.azure.connection import azure_connection
from portal.models import AuditEvent, StaffProfile
from tests.conftest import free_port
from tests.signin.conftest import person

pytestmark = [pytest.mark.django_db, pytest.mark.integration]


@pytest.mark.parametrize(
    ("app_role", "group"),
    [
        ("Portal.Support", roles.SUPPORT),
        ("Portal.AccountManager", roles.ACCOUNT_MANAGERS),
        ("Portal.Admin", roles.ADMINS),
    ],
)
def test_each_role_signs_in_and_lands_on_the_fleet_with_its_group(
    client, azure_emulator, sign_in_through_entra, app_role, group
):
    callback = sign_in_through_entra(client, app_role)
    response = client.get(callback.url())
    assert response.status_code == 302
    assert response["Location"] == "/"

    expected = person(azure_emulator, app_role)
    profile = StaffProfile.objects.select_related("user").get(entra_oid=expected["oid"].lower())
    user = profile.user
    assert profile.entra_tid == azure_emulator.tenant_id.lower()
    assert user.username == expected["preferred_username"]
    assert user.is_staff and not user.is_superuser
    assert list(user.groups.values_list("name", flat=True)) == [group]
    assert not user.has_usable_password()
    event = AuditEvent.objects.get(action="auth.sign_in")
    assert (event.outcome, event.actor) == ("success", user.username)
    assert event.details == {"method": "entra_id", "roles": [app_role]}

    landing = client.get("/")
    assert landing.status_code == 200
    assert expected["name"].split()[0] in landing.content.decode()


def test_a_person_without_a_role_sees_the_no_access_page_and_gets_no_session(
    client, sign_in_through_entra, azure_emulator
):
    callback = sign_in_through_entra(client, None)
    response = client.get(callback.url())
    assert response.status_code == 403
    assert "You have no access to this portal" in response.content.decode()
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302
    event = AuditEvent.objects.get(action="auth.sign_in")
    assert (event.outcome, event.details["reason"]) == ("failure", "no_role")
    # Who tried, from their (valid) token.
    tried = person(azure_emulator, None)
    assert event.actor == tried["preferred_username"]
    assert event.details["who"]["name"] == tried["name"]
    assert event.details["who"]["username"] == tried["preferred_username"]


def test_a_tampered_state_is_refused(client, sign_in_through_entra):
    callback = sign_in_through_entra(client, "Portal.Support")
    response = client.get(callback.url(state="forged-state"))
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.get(action="auth.sign_in").details["reason"] == "bad_state"
    assert not get_user_model().objects.exists()


def test_a_callback_without_a_sign_in_in_progress_is_refused(client, sign_in_through_entra):
    callback = sign_in_through_entra(client, "Portal.Support")
    assert client.get(callback.url()).status_code == 302
    client.logout()
    again = client.get(callback.url())
    assert again.status_code == 400
    assert "No sign-in was in progress" in again.content.decode()


def test_a_replayed_authorization_code_is_refused_by_the_identity_provider(
    client, django_user_model, sign_in_through_entra
):
    from django.test import Client

    first = sign_in_through_entra(client, "Portal.Support")
    assert client.get(first.url()).status_code == 302

    attacker = Client()
    second = sign_in_through_entra(attacker, "Portal.Support")
    response = attacker.get(second.url(code=first.query["code"]))
    assert response.status_code == 400
    assert "_auth_user_id" not in attacker.session
    failure = AuditEvent.objects.get(action="auth.sign_in", outcome="failure")
    assert failure.details["reason"] == "provider_invalid_grant"


def test_sign_in_rotates_the_session_key(client, sign_in_through_entra):
    callback = sign_in_through_entra(client, "Portal.Support")
    before = client.session.session_key
    client.get(callback.url())
    assert client.session.session_key != before


def test_the_next_page_is_kept_across_the_flow_but_only_if_it_is_local(client, azure_emulator):
    from tests.signin.conftest import pick_account

    started = client.get("/auth/start/?next=/tenants/tenant/")
    callback = pick_account(
        azure_emulator, started["Location"], person(azure_emulator, "Portal.Admin")["oid"]
    )
    assert client.get(callback.url())["Location"] == "/tenants/tenant/"

    client.logout()
    started = client.get("/auth/start/?next=https://evil.example/")
    callback = pick_account(
        azure_emulator, started["Location"], person(azure_emulator, "Portal.Admin")["oid"]
    )
    assert client.get(callback.url())["Location"] == "/"


def test_sign_out_ends_the_session_and_goes_to_the_end_session_endpoint(
    client, azure_emulator, sign_in_through_entra
):
    client.get(sign_in_through_entra(client, "Portal.Admin").url())
    response = client.post("/auth/sign-out/")
    assert response.status_code == 302
    assert response["Location"].startswith(
        f"{azure_emulator.demo['authority']}/oauth2/v2.0/logout?"
    )
    assert (
        "post_logout_redirect_uri=http%3A%2F%2Ftestserver%2Fauth%2Fsign-in%2F"
        in response["Location"]
    )
    assert "_auth_user_id" not in client.session
    assert AuditEvent.objects.filter(action="auth.sign_out").count() == 1


def test_an_expired_session_sends_the_person_back_to_sign_in(client, sign_in_through_entra):
    client.get(sign_in_through_entra(client, "Portal.Support").url())
    session = client.session
    session.set_expiry(-1)
    session.save()
    response = client.get("/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_pages_allow_forms_to_lead_to_the_identity_provider_and_nowhere_else(
    client, azure_emulator
):
    policy = client.get("/auth/sign-in/")["Content-Security-Policy"]
    assert f"form-action 'self' {azure_emulator.demo['authority_host']}" in policy


def _tamper_with_flow(client, **changes) -> None:
    session = client.session
    session["entra_flow"] = {**session["entra_flow"], **changes}
    session.save()


def test_a_nonce_that_does_not_match_the_flow_is_a_refused_audited_sign_in(
    client, sign_in_through_entra
):
    callback = sign_in_through_entra(client, "Portal.Support")
    _tamper_with_flow(client, nonce="a-nonce-from-another-sign-in")
    response = client.get(callback.url())
    assert response.status_code == 400
    assert "did not belong to this browser" in response.content.decode()
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.sign_in")
    assert (event.outcome, event.details["reason"]) == ("failure", "bad_nonce")
    assert not get_user_model().objects.exists()


def test_a_damaged_sign_in_flow_is_a_refused_audited_sign_in(client, sign_in_through_entra):
    callback = sign_in_through_entra(client, "Portal.Support")
    session = client.session
    session["entra_flow"] = {"state": session["entra_flow"]["state"]}
    session.save()
    response = client.get(callback.url())
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session
    event = AuditEvent.objects.get(action="auth.sign_in")
    assert (event.outcome, event.details["reason"]) == ("failure", "sign_in_failed")


def test_an_unreachable_identity_provider_is_a_refused_audited_sign_in(
    client, azure_emulator, settings, tmp_path
):
    demo = json.loads((azure_emulator.state_dir / "demo.json").read_text())
    demo["authority_host"] = f"https://127.0.0.1:{free_port()}"
    (tmp_path / "demo.json").write_text(json.dumps(demo))
    settings.PORTAL_EMULATOR_STATE_DIR = tmp_path
    azure_connection.cache_clear()
    response = client.get("/auth/start/")
    assert response.status_code == 503
    assert "Entra ID could not be reached" in response.content.decode()
    event = AuditEvent.objects.get(action="auth.sign_in")
    assert (event.outcome, event.details["reason"]) == ("failure", "provider_unreachable")

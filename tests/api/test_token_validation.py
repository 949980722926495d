"""Bearer tokens: what the API accepts and why it refuses the rest (always 401 or 403 as a
problem document, with the reason in the audit trail)."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.models import AuditEvent
from tests.api.conftest import expired_claims

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

TENANTS = "/api/v1/tenants"


def refused(response, status: int, reason: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    if reason:
        assert body["reason"] == reason
    return body


def test_an_app_token_with_the_fleet_read_role_lists_the_tenants(call, tokens, fleet):
    response = call("GET", TENANTS, tokens.app("status_board"))
    assert response.status_code == 200
    assert response.json()["count"] == len(fleet)


def test_a_call_without_a_token_is_told_to_bring_a_bearer_token(call, fleet):
    response = call("GET", TENANTS, None)
    refused(response, 401)
    assert response["WWW-Authenticate"] == "Bearer"


def test_the_session_cookie_of_a_signed_in_person_does_not_authenticate_the_api(
    client, admin_user, fleet
):
    client.force_login(admin_user)
    assert client.get(TENANTS).status_code == 401
    assert (
        client.post("/api/v1/restores/plan", {}, content_type="application/json").status_code == 401
    )


def test_a_token_for_another_audience_is_refused(call, tokens, fleet):
    arm = tokens.app("status_board", scope="https://management.azure.com/.default")
    response = call("GET", TENANTS, arm)
    refused(response, 401, "wrong_audience")
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_an_expired_token_is_refused(call, tokens, fleet):
    refused(call("GET", TENANTS, tokens.forged("status_board", **expired_claims())), 401, "expired")


def test_a_token_signed_by_another_key_under_a_published_kid_is_refused(call, tokens, fleet):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    refused(call("GET", TENANTS, tokens.forged("status_board", key=stranger)), 401, "bad_signature")


def test_a_token_naming_a_key_entra_does_not_publish_is_refused(call, tokens, fleet):
    token = tokens.forged("status_board", kid="0" * 32)
    refused(call("GET", TENANTS, token), 401, "unknown_key")


def test_a_token_from_another_issuer_is_refused(call, tokens, fleet):
    token = tokens.forged("status_board", iss="https://login.example.com/elsewhere/v2.0")
    refused(call("GET", TENANTS, token), 401, "wrong_issuer")


def test_an_id_token_is_not_an_access_token(call, tokens, fleet):
    refused(call("GET", TENANTS, tokens.id_token("admin")), 401, "not_an_access_token")


def test_after_entra_rolls_its_signing_key_tokens_signed_with_the_new_key_are_accepted(
    call, tokens, fleet, azure_emulator
):
    assert call("GET", TENANTS, tokens.app("status_board")).status_code == 200  # keys cached
    rotated = azure_emulator.control("POST", "identity/rotate-signing-key")
    token = tokens.app("status_board")
    assert jwt.get_unverified_header(token)["kid"] == rotated["kid"]
    assert call("GET", TENANTS, token).status_code == 200


def test_an_app_holding_no_api_role_is_refused(call, tokens, fleet):
    token = tokens.app("sandbox")
    assert "roles" not in jwt.decode(token, options={"verify_signature": False})
    body = refused(call("GET", TENANTS, token), 403)
    assert "none of the portal API's app roles" in body["detail"]


def test_a_person_without_a_portal_role_is_refused(call, tokens, fleet):
    refused(call("GET", TENANTS, tokens.person("no_role")), 403)


def test_a_read_scope_reads_but_cannot_change_anything(call, tokens, fleet):
    token = tokens.person("admin", scope="Operations.Read")
    assert call("GET", TENANTS, token).status_code == 200
    body = refused(call("POST", "/api/v1/operations/1/cancel", token), 403)
    assert "Operations.ReadWrite" in body["detail"]


def test_every_refusal_is_an_audited_denied_access(call, tokens, fleet):
    before = AuditEvent.objects.filter(action="access.denied").count()
    call("GET", TENANTS, tokens.forged("status_board", **expired_claims()))
    event = AuditEvent.objects.filter(action="access.denied").order_by("-pk").first()
    assert AuditEvent.objects.filter(action="access.denied").count() == before + 1
    assert event.details["status"] == 401
    assert "expired" in event.details["reason"]

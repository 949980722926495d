"""The portal validates ID tokens itself (MSAL no longer does): signature, audience, tenant, time."""

from __future__ import annotations

import time

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from portal.azure.entra import SignInError, validate_id_token
from portal.models import AuditEvent

pytestmark = pytest.mark.integration


@pytest.fixture
def token_for(azure_emulator):
    """Builds an ID token like the emulator's, signed with its key unless told otherwise."""
    key_pem = (azure_emulator.state_dir / "signing-key.pem").read_bytes()
    emulator_key = serialization.load_pem_private_key(key_pem, password=None)
    kid = jwt.get_unverified_header(_any_token(azure_emulator))["kid"]

    def build(*, key=None, **overrides):
        now = int(time.time())
        claims = {
            "aud": azure_emulator.demo["client_id"],
            "iss": f"{azure_emulator.demo['authority']}/v2.0",
            "tid": azure_emulator.tenant_id,
            "oid": "0b0b0b0b-0000-4000-8000-000000000001",
            "sub": "subject",
            "name": "Test Person",
            "preferred_username": "test.person@fleetwise.example",
            "roles": ["Portal.Support"],
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "ver": "2.0",
        }
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, key or emulator_key, algorithm="RS256", headers={"kid": kid})

    return build


def _any_token(emulator) -> str:
    """A real token from the emulator, to learn its key id."""
    credential = emulator.credential()
    return credential.get_token("https://management.azure.com/.default").token


def test_a_genuine_token_gives_the_identity(token_for):
    identity = validate_id_token(token_for())
    assert identity.oid == "0b0b0b0b-0000-4000-8000-000000000001"
    assert identity.roles == ("Portal.Support",)
    assert identity.username == "test.person@fleetwise.example"


def test_a_token_signed_with_another_key_is_refused(token_for):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(token_for(key=forger))
    assert excinfo.value.reason == "invalid_token"


def test_a_token_for_another_application_is_refused(token_for):
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(token_for(aud="00000000-1111-2222-3333-444444444444"))
    assert excinfo.value.reason == "wrong_audience"


def test_an_expired_token_is_refused(token_for):
    past = int(time.time()) - 7200
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(token_for(iat=past, nbf=past, exp=past + 600))
    assert excinfo.value.reason == "expired"


def test_a_token_not_yet_valid_is_refused(token_for):
    future = int(time.time()) + 3600
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(token_for(nbf=future))
    assert excinfo.value.reason == "invalid_token"


def test_a_token_from_another_entra_tenant_is_refused(token_for):
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(token_for(tid="99999999-8888-7777-6666-555555555555"))
    assert excinfo.value.reason == "wrong_tenant"


def test_a_token_from_another_issuer_is_refused(token_for):
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(token_for(iss="https://login.example.org/v2.0"))
    assert excinfo.value.reason == "wrong_issuer"


def test_a_token_without_an_object_id_is_refused(token_for):
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(token_for(oid=None))
    assert excinfo.value.reason == "invalid_token"


def test_an_unsigned_token_is_refused(token_for):
    unsigned = jwt.encode({"aud": "x", "tid": "y"}, key=None, algorithm="none")
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(unsigned)
    assert excinfo.value.reason == "invalid_token"


def test_after_the_provider_rotates_its_keys_the_new_key_is_fetched_and_accepted(
    azure_emulator, token_for, monkeypatch
):
    from portal.azure import entra

    assert validate_id_token(token_for()).username  # the JWKS is cached now
    fetches = []
    fetch = entra._Provider._fetch_jwks

    def counted(provider):
        fetches.append(1)
        fetch(provider)

    monkeypatch.setattr(entra._Provider, "_fetch_jwks", counted)

    rotated = azure_emulator.control("POST", "identity/rotate-signing-key")
    new_key = serialization.load_pem_private_key(
        (azure_emulator.state_dir / "signing-key.pem").read_bytes(), password=None
    )
    now = int(time.time())
    token = jwt.encode(
        {
            "aud": azure_emulator.demo["client_id"],
            "iss": f"{azure_emulator.demo['authority']}/v2.0",
            "tid": azure_emulator.tenant_id,
            "oid": "0b0b0b0b-0000-4000-8000-000000000002",
            "sub": "subject",
            "preferred_username": "rotated.key@fleetwise.example",
            "roles": [],
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "ver": "2.0",
        },
        new_key,
        algorithm="RS256",
        headers={"kid": rotated["kid"]},
    )

    assert validate_id_token(token).username == "rotated.key@fleetwise.example"
    assert fetches == [1]  # one re-fetch for the unknown key id, then from the cache
    assert validate_id_token(token).username == "rotated.key@fleetwise.example"
    assert fetches == [1]


def test_a_refused_token_whose_signature_verified_names_who_tried(token_for):
    other_tenant = "99999999-8888-7777-6666-555555555555"
    past = int(time.time()) - 7200
    for token, reason in (
        (token_for(tid=other_tenant), "wrong_tenant"),
        (token_for(iat=past, nbf=past, exp=past + 600), "expired"),
        (token_for(aud="00000000-1111-2222-3333-444444444444"), "wrong_audience"),
    ):
        with pytest.raises(SignInError) as excinfo:
            validate_id_token(token)
        refused = excinfo.value
        assert refused.reason == reason
        assert refused.who is not None, reason
        assert (refused.who.name, refused.who.username) == (
            "Test Person",
            "test.person@fleetwise.example",
        )
        assert refused.claimed is None


def test_a_forged_token_only_claims_a_name_and_is_not_taken_as_who_tried(token_for):
    forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(SignInError) as excinfo:
        validate_id_token(token_for(key=forger, name="Ada Admin"))
    assert excinfo.value.who is None
    assert excinfo.value.claimed == {
        "name": "Ada Admin",
        "preferred_username": "test.person@fleetwise.example",
    }


@pytest.mark.django_db
def test_a_sign_in_from_another_tenant_is_audited_with_the_persons_name_and_sign_in_name(
    client, token_for, sign_in_through_entra, monkeypatch
):
    callback = sign_in_through_entra(client, "Portal.Support")
    other_tenant = "99999999-8888-7777-6666-555555555555"
    # What Entra hands back is a genuine token of another tenant's account.
    monkeypatch.setattr(
        "portal.views.sign_in_complete",
        lambda *, flow, response: validate_id_token(token_for(tid=other_tenant)),
    )

    response = client.get(callback.url())

    assert response.status_code == 403
    event = AuditEvent.objects.get(action="auth.sign_in")
    assert (event.outcome, event.actor, event.details["reason"]) == (
        "failure",
        "test.person@fleetwise.example",
        "wrong_tenant",
    )
    assert event.details["who"] == {
        "name": "Test Person",
        "username": "test.person@fleetwise.example",
        "tenant_id": other_tenant,
        "object_id": "0b0b0b0b-0000-4000-8000-000000000001",
    }
    assert "_auth_user_id" not in client.session

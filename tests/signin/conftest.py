from __future__ import annotations

import ssl
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import httpx
import pytest


@dataclass
class Callback:
    """Where the identity provider sent the browser back: the portal path and its query."""

    path: str
    query: dict[str, str]

    def url(self, **changes: str) -> str:
        return f"{self.path}?{urlencode({**self.query, **changes})}"


def person(emulator, role: str | None) -> dict:
    for candidate in emulator.demo["people"]:
        if (role is None and not candidate["roles"]) or (
            role is not None and role in candidate["roles"]
        ):
            return candidate
    raise LookupError(role)


def pick_account(emulator, auth_uri: str, oid: str) -> Callback:
    """What a person does on the emulator's account picker: choose an account."""
    parts = urlsplit(auth_uri)
    # The picker is a form that re-posts the authorize parameters with the chosen account.
    form = {k: v[0] for k, v in parse_qs(parts.query).items()}
    form["emulator_account"] = oid
    answer = httpx.post(
        urlunsplit(parts._replace(query="")),
        data=form,
        verify=ssl.create_default_context(cafile=emulator.ca_bundle),
        follow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text
    back = urlsplit(answer.headers["location"])
    return Callback(back.path, {k: v[0] for k, v in parse_qs(back.query).items()})


@pytest.fixture
def sign_in_through_entra(azure_emulator):
    """Drives the whole flow: portal start → emulator picker → the callback URL to follow."""

    def start(client, role: str | None) -> Callback:
        started = client.get("/auth/start/")
        assert started.status_code == 302
        return pick_account(
            azure_emulator, started["Location"], person(azure_emulator, role)["oid"]
        )

    return start

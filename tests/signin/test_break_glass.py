from __future__ import annotations

import io
from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError

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


@pytest.fixture
def break_glass(settings):
    settings.PORTAL_BREAK_GLASS_USERNAME = "breakglass"
    settings.BREAK_GLASS_MAX_FAILURES = 3
    settings.BREAK_GLASS_FAILURE_WINDOW_SECONDS = 600
    settings.BREAK_GLASS_LOCKOUT_MINUTES = 30
    return UserFactory(username="breakglass", is_superuser=True)


def attempt(client, password, address="192.0.2.10"):
    return client.post(
        "/auth/break-glass/",
        {"username": "breakglass", "password": password},
        REMOTE_ADDR=address,
    )


def test_a_burst_of_wrong_passwords_locks_the_account_out_from_that_address(client, break_glass):
    statuses = [attempt(client, f"guess-{n}").status_code for n in range(25)]
    assert statuses[:2] == [200, 200]
    assert set(statuses[2:]) == {429}
    # Locked: even the right password is not checked, let alone accepted.
    locked = attempt(client, PASSWORD)
    assert locked.status_code == 429
    assert "locked from your address" in locked.content.decode()
    assert "_auth_user_id" not in client.session
    lock = AuditEvent.objects.get(action="auth.break_glass_locked")
    assert (lock.outcome, lock.actor, lock.details["failures"]) == ("failure", "breakglass", 3)
    assert AuditEvent.objects.filter(action="auth.break_glass", outcome="failure").count() == 26


def test_the_lockout_holds_for_that_address_only(client, break_glass):
    for n in range(3):
        attempt(client, f"guess-{n}")
    assert attempt(client, PASSWORD).status_code == 429
    assert attempt(client, PASSWORD, address="198.51.100.7").status_code == 302


def test_the_lockout_ends_after_the_configured_minutes(client, break_glass):
    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False) as clock:
        for n in range(3):
            attempt(client, f"guess-{n}")
        clock.shift(timedelta(minutes=29))
        assert attempt(client, PASSWORD).status_code == 429
        clock.shift(timedelta(minutes=2))
        assert attempt(client, PASSWORD).status_code == 302


def test_failures_further_apart_than_the_window_do_not_add_up(client, break_glass):
    with time_machine.travel("2026-12-01 10:00:00+00:00", tick=False) as clock:
        for n in range(4):
            assert attempt(client, f"guess-{n}").status_code == 200
            clock.shift(timedelta(minutes=6))  # two per 10-minute window at most
    assert not AuditEvent.objects.filter(action="auth.break_glass_locked").exists()


def test_a_right_password_starts_the_count_afresh(client, break_glass):
    attempt(client, "guess-1")
    attempt(client, "guess-2")
    assert attempt(client, PASSWORD).status_code == 302
    client.logout()
    attempt(client, "guess-3")
    assert attempt(client, "guess-4").status_code == 200


def test_an_admin_lifts_the_lockout_and_it_is_audited(client, break_glass, admin_user):
    for n in range(3):
        attempt(client, f"guess-{n}")
    out = io.StringIO()
    call_command(
        "break_glass_unlock", "breakglass", "--requested-by", admin_user.username,
        "--reason", "INC-12 locked out during the Entra outage", stdout=out,
    )  # fmt: skip
    assert "Unlocked breakglass from 192.0.2.10" in out.getvalue()
    unlock = AuditEvent.objects.get(action="auth.break_glass_unlock")
    assert unlock.actor == admin_user.username
    assert unlock.details == {
        "username": "breakglass",
        "addresses": ["192.0.2.10"],
        "reason": "INC-12 locked out during the Entra outage",
    }
    assert attempt(client, PASSWORD).status_code == 302


def test_only_an_admin_may_lift_a_lockout(client, break_glass, support):
    for n in range(3):
        attempt(client, f"guess-{n}")
    with pytest.raises(CommandError, match="may not lift sign-in lockouts"):
        call_command(
            "break_glass_unlock", "breakglass", "--requested-by", support.username,
            "--reason", "please", stdout=io.StringIO(),
        )  # fmt: skip
    assert not AuditEvent.objects.filter(action="auth.break_glass_unlock").exists()
    assert attempt(client, PASSWORD).status_code == 429


def test_the_counts_live_in_a_cache_every_process_shares(settings):
    assert settings.CACHES["shared"]["BACKEND"] == "django.core.cache.backends.db.DatabaseCache"

"""Browser tests: Playwright driving Debian's Chromium against a live portal and the emulator."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from portal.services import role_groups_sync

CHROMIUM = "/usr/bin/chromium"

# Playwright's sync API runs an event loop in this thread; the Django ORM calls the tests make
# around it (fixtures, assertions) are ordinary synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run `make test` (it installs it).")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-quic",
            "--no-first-run",
            "--disable-sync",
        ],
    }


@pytest.fixture
def browser_context_args(browser_context_args, azure_emulator):
    # The emulator's certificate is signed by its own CA, which Chromium does not know.
    return {**browser_context_args, "ignore_https_errors": True}


@pytest.fixture
def portal_url(live_server, azure_emulator, settings, audit_triggers_lifted_for_flush):
    # The callback URL is built from the request, i.e. the live server's loopback address.
    settings.ENTRA_REDIRECT_URI = ""
    # Transactional tests start from flushed tables: put the role groups back.
    role_groups_sync()
    return live_server.url

"""Management commands act for a named person, with that person's permissions and audit."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.core.management.base import CommandError
from django.http import Http404

from tenants.models import Tenant
from tenants.selectors import tenant_for_user


def acting_person(username: str) -> User:
    """The active portal user a command acts for (`--requested-by`), or a CommandError."""
    user: User | None = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active portal user {username!r} (they must have signed in once).")
    return user


def tenant_seen_by(user: User, slug: str, *, requested_by: str) -> Tenant:
    """The tenant `slug` if the acting person may see it; otherwise one CommandError, the same
    whether it is missing or hidden from them (names do not leak)."""
    try:
        return tenant_for_user(user, slug)
    except (PermissionDenied, Http404) as exc:
        raise CommandError(f"{requested_by} cannot see a tenant {slug!r}.") from exc

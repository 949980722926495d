"""Management commands act for a named person, with that person's permissions and audit."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import CommandError


def acting_person(username: str) -> User:
    """The active portal user a command acts for (`--requested-by`), or a CommandError."""
    user: User | None = get_user_model().objects.filter(username=username, is_active=True).first()
    if user is None:
        raise CommandError(f"No active portal user {username!r} (they must have signed in once).")
    return user

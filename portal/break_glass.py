"""Break-glass sign-in throttling: failures counted per username and source address, a lockout
after too many, and an audited unlock.

State lives in the `shared` cache (the portal's database, table `portal_cache`): every web
process sees the same counts, and break-glass, the way in when Entra ID or Redis is down,
depends on nothing but the database the portal cannot run without anyway.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.cache import caches
from django.http import HttpRequest

from portal.audit import audit_record
from portal.models import AuditEvent

CACHE_ALIAS = "shared"


@dataclass(frozen=True)
class Lockout:
    username: str
    source_ip: str
    until: datetime


def _cache() -> Any:
    return caches[CACHE_ALIAS]


def _key(kind: str, username: str, source_ip: str = "") -> str:
    # Hashed: the cache key must stay short and free of characters memcached-style keys refuse.
    digest = hashlib.sha256(f"{username.lower()}\n{source_ip}".encode()).hexdigest()
    return f"break-glass:{kind}:{digest}"


def lockout_for(*, username: str, source_ip: str) -> Lockout | None:
    """The lockout on this username from this address, if one is in force."""
    until = _cache().get(_key("locked", username, source_ip))
    if until is None or until <= datetime.now(UTC):
        return None
    return Lockout(username, source_ip, until)


def break_glass_failure_record(
    *, username: str, source_ip: str, request: HttpRequest | None = None
) -> Lockout | None:
    """Count a failed attempt; the one that reaches BREAK_GLASS_MAX_FAILURES within
    BREAK_GLASS_FAILURE_WINDOW_SECONDS locks the username from this address for
    BREAK_GLASS_LOCKOUT_MINUTES (audited). The window opens at the first failure.

    The count is read and written without a lock: two simultaneous failures may count once,
    which lets an attacker at most a few extra tries, not a steady stream."""
    cache = _cache()
    now = datetime.now(UTC)
    window = timedelta(seconds=settings.BREAK_GLASS_FAILURE_WINDOW_SECONDS)
    key = _key("failures", username, source_ip)
    entry = cache.get(key)
    if entry is None or now - entry["since"] >= window:
        entry = {"count": 0, "since": now}
    entry["count"] += 1
    left = window - (now - entry["since"])
    cache.set(key, entry, timeout=max(1, int(left.total_seconds())))
    if entry["count"] < settings.BREAK_GLASS_MAX_FAILURES:
        return None
    until = now + timedelta(minutes=settings.BREAK_GLASS_LOCKOUT_MINUTES)
    cache.set(
        _key("locked", username, source_ip),
        until,
        timeout=settings.BREAK_GLASS_LOCKOUT_MINUTES * 60,
    )
    cache.delete(key)
    _remember_locked_address(username, source_ip, until)
    audit_record(
        action="auth.break_glass_locked",
        actor_name=username[:150],
        outcome=AuditEvent.Outcome.FAILURE,
        request=request,
        details={
            "source_ip": source_ip,
            "failures": entry["count"],
            "window_seconds": settings.BREAK_GLASS_FAILURE_WINDOW_SECONDS,
            "locked_until": until.isoformat(),
        },
    )
    return Lockout(username, source_ip, until)


def _remember_locked_address(username: str, source_ip: str, until: datetime) -> None:
    """Which addresses a username is locked from, so an unlock can lift them all."""
    cache = _cache()
    key = _key("addresses", username)
    addresses = set(cache.get(key) or ()) | {source_ip}
    cache.set(key, sorted(addresses), timeout=settings.BREAK_GLASS_LOCKOUT_MINUTES * 60)


def break_glass_success(*, username: str, source_ip: str) -> None:
    """A correct password starts the count afresh."""
    _cache().delete(_key("failures", username, source_ip))


def break_glass_unlock(
    *, username: str, actor: AbstractBaseUser | AnonymousUser, reason: str
) -> list[str]:
    """Lift every lockout of `username` (all addresses) and audit who did it and why.
    Returns the addresses that were locked."""
    cache = _cache()
    addresses: list[str] = list(cache.get(_key("addresses", username)) or [])
    for source_ip in addresses:
        cache.delete_many(
            [_key("locked", username, source_ip), _key("failures", username, source_ip)]
        )
    cache.delete(_key("addresses", username))
    audit_record(
        action="auth.break_glass_unlock",
        actor=actor,
        details={"username": username, "addresses": addresses, "reason": reason},
    )
    return addresses

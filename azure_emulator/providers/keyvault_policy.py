"""Key rotation policies: Key Vault's validation of a policy, and rotating a key by it.

A ``Rotate`` lifetime action is applied when the key is next read (Key Vault rotates in the
background; the emulator catches up and dates each version at the moment its trigger fired).
"""

from __future__ import annotations

import re
from datetime import timedelta

from azure_emulator.arm import ArmRequest
from azure_emulator.providers.keyvault_store import (
    _now,
    _tags_of,
    add_version,
    bad_parameter,
    latest,
)
from azure_emulator.state import JSON, Store

# Key Vault's documented floors for rotation policies.
MIN_EXPIRY = timedelta(days=28)
MIN_ROTATE_AFTER_CREATE = timedelta(days=7)
MIN_BEFORE_EXPIRY = timedelta(days=7)
DEFAULT_POLICY_ACTIONS = [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]

_KV_DURATION = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def parse_kv_duration(text: str) -> timedelta:
    """ISO 8601 durations as rotation policies use them (P90D, P1Y, P3M, PT48H)."""
    match = _KV_DURATION.match(str(text).strip().upper())
    if not match or str(text).strip().upper() in ("P", "PT"):
        raise bad_parameter(f"'{text}' is not a valid ISO 8601 duration.")
    n = {k: int(v) for k, v in match.groupdict().items() if v}
    # Key Vault counts a year as 365 days and a month as 30 for policy arithmetic.
    days = n.get("y", 0) * 365 + n.get("mo", 0) * 30 + n.get("w", 0) * 7 + n.get("d", 0)
    return timedelta(days=days, hours=n.get("h", 0), minutes=n.get("mi", 0), seconds=n.get("s", 0))


def _policy_expiry(row: JSON) -> timedelta | None:
    policy = row.get("rotation_policy") or {}
    text = (policy.get("attributes") or {}).get("expiryTime")
    return parse_kv_duration(text) if text else None


def rotate(store: Store, row: JSON, created: int) -> JSON:
    """A new version with the current one's type, size, operations and tags (Key Vault's rotate)."""
    current = latest(row)
    expiry = _policy_expiry(row)
    return add_version(
        store,
        row["name"],
        created=created,
        kty=current["kty"],
        size=current.get("key_size"),
        crv=current.get("crv"),
        key_ops=current["key_ops"],
        tags=_tags_of(row, current),
        expires=created + int(expiry.total_seconds()) if expiry else None,
        exportable=current.get("exportable"),
    )


def _auto_rotate(store: Store, row: JSON) -> None:
    """Apply a ``Rotate`` lifetime action whose trigger time has passed.

    Key Vault rotates in the background; the emulator catches up whenever the key is read, and
    dates each new version at the moment the trigger fired rather than at the read.
    """
    policy = row.get("rotation_policy") or {}
    rotate_action = next(
        (a for a in policy.get("lifetimeActions", []) if a["action"]["type"].lower() == "rotate"),
        None,
    )
    if rotate_action is None:
        return
    now = _now(store)
    trigger = rotate_action["trigger"]
    for _ in range(24):  # bounded catch-up after a long clock jump
        current = latest(row)
        created = int(current["created"])
        due: int | None = None
        if trigger.get("timeAfterCreate"):
            due = created + int(parse_kv_duration(trigger["timeAfterCreate"]).total_seconds())
        elif trigger.get("timeBeforeExpiry") and current.get("exp"):
            before = int(parse_kv_duration(trigger["timeBeforeExpiry"]).total_seconds())
            due = int(current["exp"]) - before
        if due is None or due > now:
            return
        rotate(store, row, max(due, created + 1))


def _validated_policy(body: JSON) -> JSON:
    actions = body.get("lifetimeActions")
    attributes = body.get("attributes") or {}
    if actions is not None and not isinstance(actions, list):
        raise bad_parameter("Property lifetimeActions must be an array.")
    expiry_text = attributes.get("expiryTime")
    expiry = parse_kv_duration(expiry_text) if expiry_text else None
    if expiry is not None and expiry < MIN_EXPIRY:
        raise bad_parameter("Expiry time must be at least 28 days (P28D).")
    cleaned: list[JSON] = []
    kinds: set[str] = set()
    for action in actions or []:
        kind = str((action.get("action") or {}).get("type", ""))
        trigger = action.get("trigger") or {}
        after, before = trigger.get("timeAfterCreate"), trigger.get("timeBeforeExpiry")
        if kind.lower() not in ("rotate", "notify"):
            raise bad_parameter(
                f"Lifetime action type '{kind}' is not valid; use Rotate or Notify."
            )
        if kind.lower() in kinds:
            raise bad_parameter(f"Only one {kind} lifetime action is allowed.")
        kinds.add(kind.lower())
        if bool(after) == bool(before):
            raise bad_parameter(
                "A lifetime action trigger needs exactly one of timeAfterCreate or timeBeforeExpiry."
            )
        if after and parse_kv_duration(after) < MIN_ROTATE_AFTER_CREATE:
            raise bad_parameter("timeAfterCreate must be at least 7 days (P7D).")
        if before:
            if expiry is None:
                raise bad_parameter("timeBeforeExpiry requires the policy's expiryTime.")
            if parse_kv_duration(before) < MIN_BEFORE_EXPIRY:
                raise bad_parameter("timeBeforeExpiry must be at least 7 days (P7D).")
        if after and expiry is not None and parse_kv_duration(after) >= expiry:
            raise bad_parameter("timeAfterCreate must be shorter than the expiry time.")
        if kind.lower() == "notify" and after:
            raise bad_parameter("A Notify action can only be triggered by timeBeforeExpiry.")
        normal = "Rotate" if kind.lower() == "rotate" else "Notify"
        trigger_out = {"timeAfterCreate": after} if after else {"timeBeforeExpiry": before}
        cleaned.append({"trigger": trigger_out, "action": {"type": normal}})
    return {"lifetimeActions": cleaned, "expiryTime": expiry_text}


def policy_body(req: ArmRequest, row: JSON) -> JSON:
    policy = row.get("rotation_policy")
    policy_id = f"{req.base_url}/keys/{row['name']}/rotationpolicy"
    if not policy:
        # A key that never had a policy reports Key Vault's default one, with no id or times.
        return {"id": None, "lifetimeActions": DEFAULT_POLICY_ACTIONS, "attributes": {}}
    attributes = {k: v for k, v in policy["attributes"].items() if v is not None}
    return {"id": policy_id, "lifetimeActions": policy["lifetimeActions"], "attributes": attributes}

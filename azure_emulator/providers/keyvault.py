"""Key Vault keys data plane on the emulator's Key Vault port (azure-keyvault-keys 4.11.3).

api-version 2025-07-01, docs/azure-behaviours.md §4.3-4.4. The vault is the host:port the client calls (the
SDK has no room for a vault name in the path), so a key id (``kid``) is built from the request's
own base URL when it is served and never stored. The bearer challenge for unauthenticated
requests (401 + ``WWW-Authenticate``) is answered by the runtime before a handler runs.

Keys live in the ``keyvault_keys`` table the core seed fills (``tde-<slug>`` per tenant, one to
three versions) and Microsoft.Sql reads: one row per key name, ``versions`` oldest first, the
last one current (README: "Seeded data other providers serve"). Keys created here get real
public key material from ``cryptography``; seeded ones carry a modulus-shaped number, since no
client does cryptography with them. Times are integer epoch seconds and versions 32 hex
characters, as in Key Vault. Deleted keys (``deleted`` set) answer 404 here; deleting, listing,
recovering and purging them is :mod:`.keyvault_deleted`. During an outage of Australia East the vault is read-only, as a vault
failed over to its paired region is.
"""

from __future__ import annotations

import base64
import re
import uuid
from collections.abc import Callable
from datetime import timedelta

from cryptography.hazmat.primitives.asymmetric import ec, rsa
from starlette.responses import JSONResponse, Response

from azure_emulator.arm import KEYVAULT_AUDIENCE, ArmRequest, Handler, Router
from azure_emulator.errors import ArmError
from azure_emulator.state import JSON, Store

TABLE = "keyvault_keys"
PAGE_MAX = 25
NAME = re.compile(r"^[0-9A-Za-z-]{1,127}$")
RSA_OPS = ["encrypt", "decrypt", "sign", "verify", "wrapKey", "unwrapKey"]
EC_OPS = ["sign", "verify"]
RSA_SIZES = (2048, 3072, 4096)
CURVES: dict[str, ec.EllipticCurve] = {
    "P-256": ec.SECP256R1(),
    "P-384": ec.SECP384R1(),
    "P-521": ec.SECP521R1(),
    "P-256K": ec.SECP256K1(),
}
# The emulator's one vault lives where the fleet does.
VAULT_REGION = "australiaeast"
# Soft-delete is always on (Key Vault enforces it); purge protection is on unless the control API
# turned it off: TDE with a customer-managed key requires both, and the vault's state shows on
# every key as its recovery level ("Recoverable" = soft-delete + purge protection).
VAULT = "keyvault_vault"
RECOVERY_PROTECTED = {"recoveryLevel": "Recoverable", "recoverableDays": 90}
RECOVERY_PURGEABLE = {"recoveryLevel": "Recoverable+Purgeable", "recoverableDays": 90}


def purge_protection(store: Store) -> bool:
    return bool(store.table(VAULT).get("settings", {}).get("purge_protection", True))


def set_purge_protection(store: Store, enabled: bool) -> None:
    store.table(VAULT)["settings"] = {"purge_protection": enabled}
    store.touch()


# Key Vault's documented floors for rotation policies.
MIN_EXPIRY = timedelta(days=28)
MIN_ROTATE_AFTER_CREATE = timedelta(days=7)
MIN_BEFORE_EXPIRY = timedelta(days=7)
DEFAULT_POLICY_ACTIONS = [{"trigger": {"timeBeforeExpiry": "P30D"}, "action": {"type": "Notify"}}]

_KV_DURATION = re.compile(
    r"^P(?:(?P<y>\d+)Y)?(?:(?P<mo>\d+)M)?(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?:(?P<h>\d+)H)?(?:(?P<mi>\d+)M)?(?:(?P<s>\d+)S)?)?$"
)


def kv_error(status: int, code: str, message: str, inner: str | None = None) -> ArmError:
    details = [{"code": inner}] if inner else None
    return ArmError(status, code, message, details=details)


def bad_parameter(message: str) -> ArmError:
    return kv_error(400, "BadParameter", message)


def parse_kv_duration(text: str) -> timedelta:
    """ISO 8601 durations as rotation policies use them (P90D, P1Y, P3M, PT48H)."""
    match = _KV_DURATION.match(str(text).strip().upper())
    if not match or str(text).strip().upper() in ("P", "PT"):
        raise bad_parameter(f"'{text}' is not a valid ISO 8601 duration.")
    n = {k: int(v) for k, v in match.groupdict().items() if v}
    # Key Vault counts a year as 365 days and a month as 30 for policy arithmetic.
    days = n.get("y", 0) * 365 + n.get("mo", 0) * 30 + n.get("w", 0) * 7 + n.get("d", 0)
    return timedelta(days=days, hours=n.get("h", 0), minutes=n.get("mi", 0), seconds=n.get("s", 0))


def b64url(value: int, length: int | None = None) -> str:
    size = length or max(1, (value.bit_length() + 7) // 8)
    return base64.urlsafe_b64encode(value.to_bytes(size, "big")).rstrip(b"=").decode()


def key_material(kty: str, size: int | None, crv: str | None) -> JSON:
    """Fresh public key material (the private half is not kept: no crypto operations here)."""
    if kty.startswith("EC"):
        curve = CURVES[crv or "P-256"]
        numbers = ec.generate_private_key(curve).public_key().public_numbers()
        length = (curve.key_size + 7) // 8
        return {
            "crv": crv or "P-256",
            "x": b64url(numbers.x, length),
            "y": b64url(numbers.y, length),
        }
    public = rsa.generate_private_key(65537, size or 2048).public_key().public_numbers()
    return {"n": b64url(public.n), "e": b64url(public.e)}


# -- the table (shape shared with the core seed and Microsoft.Sql; see README) ---------------------


def keys_table(store: Store) -> dict[str, JSON]:
    return store.table(TABLE)


def add_version(
    store: Store,
    name: str,
    *,
    created: int,
    kty: str = "RSA",
    size: int | None = 2048,
    crv: str | None = None,
    key_ops: list[str] | None = None,
    enabled: bool = True,
    not_before: int | None = None,
    expires: int | None = None,
    tags: dict[str, str] | None = None,
    exportable: bool | None = False,
) -> JSON:
    """Append a new current version to a key (creating the key's row); returns the version."""
    table = keys_table(store)
    row = table.get(name.lower())
    if row is None:
        row = table[name.lower()] = {
            "name": name,
            "tags": dict(tags or {}),
            "versions": [],
            "rotation_policy": None,
            "deleted": None,
            "managed": False,
        }
    entry: JSON = {
        "version": uuid.uuid4().hex,
        "kty": kty,
        "key_size": size if kty.startswith("RSA") else None,
        "key_ops": list(key_ops or (EC_OPS if kty.startswith("EC") else RSA_OPS)),
        **key_material(kty, size, crv),
        "enabled": enabled,
        "created": created,
        "updated": created,
        "nbf": not_before,
        "exp": expires,
        "exportable": exportable,
        "tags": dict(tags if tags is not None else row["tags"]),
    }
    row["versions"].append(entry)
    store.touch()
    return entry


def latest(row: JSON) -> JSON:
    """The current version: the last one (versions are kept oldest first)."""
    current: JSON = row["versions"][-1]
    return current


def _not_found(name: str) -> ArmError:
    return kv_error(
        404,
        "KeyNotFound",
        f"A key with (name/id) {name} was not found in this key vault. If you recently "
        "deleted this key you may be able to recover it using the correct recovery command. "
        "For help resolving this issue, please see https://go.microsoft.com/fwlink/?linkid=2125182",
    )


def _row(req: ArmRequest, name: str) -> JSON:
    if not NAME.match(name):
        raise bad_parameter(f"The request URI contains an invalid name: {name}")
    row = keys_table(req.store).get(name.lower())
    if row is None or not row["versions"] or row.get("deleted"):
        raise _not_found(name)
    _auto_rotate(req.store, row)
    return row


def _version(row: JSON, version: str | None) -> JSON:
    if not version:
        return latest(row)
    entries: list[JSON] = row["versions"]
    for entry in entries:
        if entry["version"] == version.lower():
            return entry
    raise _not_found(f"{row['name']}/{version}")


def _writable(req: ArmRequest) -> None:
    """During an outage of its region a vault fails over to the paired region read-only:
    reads keep working, changes are refused until the region is back."""
    if req.emulator.faults.region_down(VAULT_REGION):
        raise kv_error(
            503,
            "ServiceUnavailable",
            "The vault is in read-only mode while its region fails over to the paired region; "
            "retry the operation once the region has recovered.",
        )


def _now(store: Store) -> int:
    return int(store.now().timestamp())


def attributes(entry: JSON, store: Store) -> JSON:
    """Key Vault's attributes object: integer epoch times, optional fields left out."""
    found: JSON = {"enabled": bool(entry.get("enabled", True))}
    for field in ("nbf", "exp"):
        if entry.get(field) is not None:
            found[field] = int(entry[field])
    found["created"] = int(entry["created"])
    found["updated"] = int(entry.get("updated") or entry["created"])
    found.update(RECOVERY_PROTECTED if purge_protection(store) else RECOVERY_PURGEABLE)
    if entry.get("exportable") is not None:
        found["exportable"] = bool(entry["exportable"])
    return found


def _tags_of(row: JSON, entry: JSON) -> dict[str, str]:
    tags = entry.get("tags")
    return dict(tags if tags is not None else row.get("tags") or {})


def bundle(req: ArmRequest, row: JSON, entry: JSON) -> JSON:
    """A KeyBundle: ``key`` (JWK with kid), ``attributes``, ``tags``."""
    key: JSON = {
        "kid": f"{req.base_url}/keys/{row['name']}/{entry['version']}",
        "kty": entry["kty"],
        "key_ops": entry["key_ops"],
    }
    for field in ("n", "e", "crv", "x", "y"):
        if entry.get(field):
            key[field] = entry[field]
    body: JSON = {"key": key, "attributes": attributes(entry, req.store)}
    tags = _tags_of(row, entry)
    if tags:
        body["tags"] = tags
    if row.get("managed"):
        body["managed"] = True
    return body


def item(req: ArmRequest, row: JSON, entry: JSON, *, versioned: bool) -> JSON:
    """A KeyItem as lists return it (no key material)."""
    kid = f"{req.base_url}/keys/{row['name']}"
    body: JSON = {
        "kid": f"{kid}/{entry['version']}" if versioned else kid,
        "attributes": attributes(entry, req.store),
    }
    tags = _tags_of(row, entry)
    if tags:
        body["tags"] = tags
    if row.get("managed"):
        body["managed"] = True
    return body


def _attributes_from(body: JSON) -> JSON:
    raw = body.get("attributes") or {}
    if not isinstance(raw, dict):
        raise bad_parameter("'attributes' must be an object.")
    for field in ("nbf", "exp"):
        if raw.get(field) is not None and not isinstance(raw[field], int):
            raise bad_parameter(f"Property attributes.{field} must be an integer epoch time.")
    if raw.get("enabled") is not None and not isinstance(raw["enabled"], bool):
        raise bad_parameter("Property attributes.enabled must be a boolean.")
    return raw


def _tags_from(body: JSON) -> dict[str, str] | None:
    tags = body.get("tags")
    if tags is None:
        return None
    if not isinstance(tags, dict) or not all(isinstance(v, str) for v in tags.values()):
        raise bad_parameter("Property tags must be an object of strings.")
    if len(tags) > 15:
        raise bad_parameter("A key may carry at most 15 tags.")
    return {str(k): v for k, v in tags.items()}


def _key_ops_from(body: JSON, kty: str) -> list[str] | None:
    ops = body.get("key_ops")
    if ops is None:
        return None
    allowed = EC_OPS if kty.startswith("EC") else [*RSA_OPS, "import"]
    if not isinstance(ops, list) or any(op not in allowed for op in ops):
        raise bad_parameter(
            f"Property key_ops has an invalid value; allowed: {', '.join(allowed)}."
        )
    return [str(op) for op in ops]


# -- rotation -------------------------------------------------------------------------------------


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


# -- routes ---------------------------------------------------------------------------------------

keyvault_router = Router()


def _route(method: str, template: str, operation: str) -> Callable[[Handler], Handler]:
    return keyvault_router.route(method, template, operation, audience=KEYVAULT_AUDIENCE)


@_route("POST", "/keys/{name}/create", "keyvault.keys.create")
def key_create(req: ArmRequest) -> Response:
    name = req.params["name"]
    if not NAME.match(name):
        raise bad_parameter(f"The request URI contains an invalid name: {name}")
    _writable(req)
    existing = keys_table(req.store).get(name.lower())
    if existing is not None and existing.get("deleted"):
        raise kv_error(
            409,
            "Conflict",
            f"Key {name} is currently in a deleted but recoverable state, and its name cannot "
            "be reused; in this state, the key can only be recovered or purged.",
            "ObjectIsDeletedButRecoverable",
        )
    body = req.json()
    kty = str(body.get("kty", ""))
    if kty not in ("RSA", "RSA-HSM", "EC", "EC-HSM"):
        raise bad_parameter(
            f"Property kty has invalid value '{kty}'; use RSA, RSA-HSM, EC or EC-HSM."
        )
    size: int | None = None
    crv: str | None = None
    if kty.startswith("RSA"):
        size = body.get("key_size") or 2048
        if size not in RSA_SIZES:
            raise bad_parameter(
                f"Property key_size has invalid value {size}; use 2048, 3072 or 4096."
            )
        if body.get("public_exponent") not in (None, 65537):
            raise bad_parameter("Only the public exponent 65537 is supported.")
    else:
        crv = body.get("crv") or "P-256"
        if crv not in CURVES:
            raise bad_parameter(f"Property crv has invalid value '{crv}'.")
    attributes = _attributes_from(body)
    now = _now(req.store)
    entry = add_version(
        req.store,
        name,
        created=now,
        kty=kty,
        size=size,
        crv=crv,
        key_ops=_key_ops_from(body, kty),
        enabled=attributes.get("enabled", True) is not False,
        not_before=attributes.get("nbf"),
        expires=attributes.get("exp"),
        tags=_tags_from(body),
        exportable=attributes.get("exportable"),
    )
    row = keys_table(req.store)[name.lower()]
    return JSONResponse(bundle(req, row, entry))


@_route("POST", "/keys/{name}/rotate", "keyvault.keys.rotate")
def key_rotate(req: ArmRequest) -> Response:
    row = _row(req, req.params["name"])
    _writable(req)
    # Versions are ordered by creation: never date a new one before the current one.
    entry = rotate(req.store, row, max(_now(req.store), int(latest(row)["created"]) + 1))
    return JSONResponse(bundle(req, row, entry))


@_route("GET", "/keys/{name}", "keyvault.keys.get")
def key_get_latest(req: ArmRequest) -> Response:
    return _get(req, None)


@_route("GET", "/keys/{name}/{version}", "keyvault.keys.get_version")
def key_get(req: ArmRequest) -> Response:
    return _get(req, req.params["version"])


def _get(req: ArmRequest, version: str | None) -> Response:
    row = _row(req, req.params["name"])
    entry = _version(row, version)
    if not entry.get("enabled", True):
        raise kv_error(
            403, "Forbidden", "Operation get is not allowed on a disabled key.", "KeyDisabled"
        )
    return JSONResponse(bundle(req, row, entry))


@_route("PATCH", "/keys/{name}", "keyvault.keys.update_latest")
def key_update_latest(req: ArmRequest) -> Response:
    return _update(req, None)


@_route("PATCH", "/keys/{name}/{version}", "keyvault.keys.update")
def key_update(req: ArmRequest) -> Response:
    return _update(req, req.params["version"])


def _update(req: ArmRequest, version: str | None) -> Response:
    row = _row(req, req.params["name"])
    entry = _version(row, version)
    _writable(req)
    body = req.json()
    changes = _attributes_from(body)
    for field in ("enabled", "nbf", "exp"):
        # enabled: null leaves the flag alone; nbf/exp: null clears the date.
        if field in changes and (changes[field] is not None or field != "enabled"):
            entry[field] = changes[field]
    if changes.get("enabled") is False and not entry.get("disabled_at"):
        # When the version stopped being usable: Microsoft.Sql times TDE inaccessibility by it.
        entry["disabled_at"] = _now(req.store)
    elif changes.get("enabled") is True:
        disabled_at = entry.pop("disabled_at", None)
        if disabled_at is not None:
            # Microsoft.Sql heals a database by itself when access came back soon enough.
            entry["last_disabled"] = {"from": disabled_at, "to": _now(req.store)}
    ops = _key_ops_from(body, entry["kty"])
    if ops is not None:
        entry["key_ops"] = ops
    tags = _tags_from(body)
    if tags is not None:
        entry["tags"] = tags
    entry["updated"] = _now(req.store)
    req.store.touch()
    return JSONResponse(bundle(req, row, entry))


def _paged(
    req: ArmRequest, rows: list[JSON], path: str, render: Callable[[JSON], JSON]
) -> Response:
    """Key Vault paging (``maxresults`` up to 25, ``$skiptoken``); only the page is rendered."""
    raw_max = req.arg("maxresults")
    try:
        size = int(raw_max) if raw_max else PAGE_MAX
    except ValueError as exc:
        raise bad_parameter(f"Invalid maxresults '{raw_max}'.") from exc
    if not 1 <= size <= PAGE_MAX:
        raise bad_parameter(f"maxresults must be between 1 and {PAGE_MAX}.")
    raw_skip = req.arg("$skiptoken") or "0"
    if not raw_skip.isdigit():
        raise bad_parameter(f"Invalid skip token '{raw_skip}'.")
    offset = int(raw_skip)
    body: JSON = {"value": [render(r) for r in rows[offset : offset + size]], "nextLink": None}
    if offset + size < len(rows):
        body["nextLink"] = (
            f"{req.base_url}{path}?api-version={req.api_version}"
            f"&$skiptoken={offset + size}&maxresults={size}"
        )
    return JSONResponse(body)


@_route("GET", "/keys", "keyvault.keys.list")
def keys_list(req: ArmRequest) -> Response:
    rows = sorted(
        (r for r in keys_table(req.store).values() if r["versions"] and not r.get("deleted")),
        key=lambda r: str(r["name"]).lower(),
    )

    def render(row: JSON) -> JSON:
        _auto_rotate(req.store, row)
        return item(req, row, latest(row), versioned=False)

    return _paged(req, rows, "/keys", render)


@_route("GET", "/keys/{name}/versions", "keyvault.keys.list_versions")
def key_versions(req: ArmRequest) -> Response:
    row = _row(req, req.params["name"])
    # Key Vault lists versions in the order of their ids, not by age; callers sort by created.
    entries = sorted(row["versions"], key=lambda v: str(v["version"]))
    return _paged(
        req,
        entries,
        f"/keys/{row['name']}/versions",
        lambda entry: item(req, row, entry, versioned=True),
    )


@_route("GET", "/keys/{name}/rotationpolicy", "keyvault.keys.get_rotation_policy")
def policy_get(req: ArmRequest) -> Response:
    row = _row(req, req.params["name"])
    return JSONResponse(policy_body(req, row))


@_route("PUT", "/keys/{name}/rotationpolicy", "keyvault.keys.update_rotation_policy")
def policy_put(req: ArmRequest) -> Response:
    row = _row(req, req.params["name"])
    _writable(req)
    checked = _validated_policy(req.json())
    now = _now(req.store)
    if not checked["lifetimeActions"] and not checked["expiryTime"]:
        # An empty policy restores Key Vault's default.
        row["rotation_policy"] = None
    else:
        previous = row.get("rotation_policy") or {}
        created = (previous.get("attributes") or {}).get("created", now)
        row["rotation_policy"] = {
            "lifetimeActions": checked["lifetimeActions"],
            "attributes": {"expiryTime": checked["expiryTime"], "created": created, "updated": now},
        }
    req.store.touch()
    _auto_rotate(req.store, row)
    return JSONResponse(policy_body(req, row))

"""Key Vault keys as the emulator stores them, and their wire shapes.

The ``keyvault_keys`` table (filled by the core seed, read by Microsoft.Sql too): one row per
key name, ``versions`` oldest first, the last current. Here: adding a version with fresh public
key material, the vault's soft-delete / purge-protection state, Key Vault's error shape, and
the KeyBundle / KeyItem bodies with their attributes. Routes are in :mod:`.keyvault`.
"""

from __future__ import annotations

import base64
import re
import uuid

from cryptography.hazmat.primitives.asymmetric import ec, rsa

from azure_emulator.arm import ArmRequest
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


def kv_error(status: int, code: str, message: str, inner: str | None = None) -> ArmError:
    details = [{"code": inner}] if inner else None
    return ArmError(status, code, message, details=details)


def bad_parameter(message: str) -> ArmError:
    return kv_error(400, "BadParameter", message)


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

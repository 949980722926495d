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

from collections.abc import Callable

from starlette.responses import JSONResponse, Response

from azure_emulator.arm import KEYVAULT_AUDIENCE, ArmRequest, Handler, Router
from azure_emulator.providers.keyvault_policy import (
    _auto_rotate,
    _validated_policy,
    policy_body,
    rotate,
)
from azure_emulator.providers.keyvault_store import (
    CURVES,
    NAME,
    PAGE_MAX,
    RSA_SIZES,
    _attributes_from,
    _key_ops_from,
    _not_found,
    _now,
    _tags_from,
    _version,
    _writable,
    add_version,
    bad_parameter,
    bundle,
    item,
    keys_table,
    kv_error,
    latest,
)
from azure_emulator.state import JSON


def _row(req: ArmRequest, name: str) -> JSON:
    if not NAME.match(name):
        raise bad_parameter(f"The request URI contains an invalid name: {name}")
    row = keys_table(req.store).get(name.lower())
    if row is None or not row["versions"] or row.get("deleted"):
        raise _not_found(name)
    _auto_rotate(req.store, row)
    return row


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

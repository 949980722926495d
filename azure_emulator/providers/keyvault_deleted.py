"""Key Vault soft-delete: deleting a key, listing, reading, recovering and purging deleted keys.

Soft-delete is always on in Key Vault: deleting a key keeps it (all versions) as a deleted key
under ``/deletedkeys/{name}`` for the retention period, during which its name cannot be reused,
it can be recovered whole, or purged, unless the vault has purge protection, in which case only
the retention period ends it (docs/azure-behaviours.md, "Key Vault soft-delete and TDE keys").
The deleted state lives on the key's own row in ``keyvault_keys`` (``deleted``), which
Microsoft.Sql reads to decide that a database's TDE protector has become inaccessible.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from azure_emulator.arm import ArmRequest
from azure_emulator.errors import ArmError
from azure_emulator.providers.keyvault import _paged, _route, _row
from azure_emulator.providers.keyvault_store import (
    NAME,
    _now,
    _writable,
    bad_parameter,
    bundle,
    item,
    keys_table,
    kv_error,
    latest,
    purge_protection,
)
from azure_emulator.state import JSON, Store

# Key Vault's soft-delete retention the vault reports as recoverableDays (90 unless set lower
# when the vault is created; the emulator's vault uses the default).
RETENTION_SECONDS = 90 * 24 * 3600


def _deleted_not_found(name: str) -> ArmError:
    return kv_error(404, "KeyNotFound", f"Deleted Key not found: {name}")


def _expire_purged(store: Store) -> None:
    """Key Vault purges a deleted key itself once its scheduled purge date has passed."""
    table = keys_table(store)
    now = _now(store)
    gone = [n for n, r in table.items() if r.get("deleted") and r["deleted"]["purge"] <= now]
    for name in gone:
        del table[name]
    if gone:
        store.touch()


def _deleted_row(req: ArmRequest, name: str) -> JSON:
    if not NAME.match(name):
        raise bad_parameter(f"The request URI contains an invalid name: {name}")
    _expire_purged(req.store)
    row = keys_table(req.store).get(name.lower())
    if row is None or not row.get("deleted"):
        raise _deleted_not_found(name)
    return row


def _deleted_fields(req: ArmRequest, row: JSON) -> JSON:
    return {
        "recoveryId": f"{req.base_url}/deletedkeys/{row['name']}",
        "deletedDate": row["deleted"]["at"],
        "scheduledPurgeDate": row["deleted"]["purge"],
    }


def deleted_bundle(req: ArmRequest, row: JSON) -> JSON:
    """A DeletedKeyBundle: the current version's KeyBundle plus the recovery fields."""
    return {**bundle(req, row, latest(row)), **_deleted_fields(req, row)}


@_route("DELETE", "/keys/{name}", "keyvault.keys.delete")
def key_delete(req: ArmRequest) -> Response:
    row = _row(req, req.params["name"])
    _writable(req)
    now = _now(req.store)
    row["deleted"] = {"at": now, "purge": now + RETENTION_SECONDS}
    req.store.touch()
    return JSONResponse(deleted_bundle(req, row))


@_route("GET", "/deletedkeys", "keyvault.keys.list_deleted")
def deleted_list(req: ArmRequest) -> Response:
    _expire_purged(req.store)
    rows = sorted(
        (r for r in keys_table(req.store).values() if r.get("deleted") and r["versions"]),
        key=lambda r: str(r["name"]).lower(),
    )

    def render(row: JSON) -> JSON:
        return {**item(req, row, latest(row), versioned=False), **_deleted_fields(req, row)}

    return _paged(req, rows, "/deletedkeys", render)


@_route("GET", "/deletedkeys/{name}", "keyvault.keys.get_deleted")
def deleted_get(req: ArmRequest) -> Response:
    return JSONResponse(deleted_bundle(req, _deleted_row(req, req.params["name"])))


@_route("POST", "/deletedkeys/{name}/recover", "keyvault.keys.recover_deleted")
def deleted_recover(req: ArmRequest) -> Response:
    row = _deleted_row(req, req.params["name"])
    _writable(req)
    # Recovery brings the key back whole: every version, its attributes and rotation policy.
    # Microsoft.Sql heals a database by itself when access came back soon enough.
    row["last_deleted"] = {"from": row["deleted"]["at"], "to": _now(req.store)}
    row["deleted"] = None
    row["recovered_at"] = _now(req.store)
    req.store.touch()
    return JSONResponse(bundle(req, row, latest(row)))


@_route("DELETE", "/deletedkeys/{name}", "keyvault.keys.purge_deleted")
def deleted_purge(req: ArmRequest) -> Response:
    row = _deleted_row(req, req.params["name"])
    _writable(req)
    if purge_protection(req.store):
        # The error real vaults answer (observed responses; docs/azure-behaviours.md).
        raise kv_error(
            403,
            "Forbidden",
            'Operation "purge" is not allowed because purge protection is enabled for this '
            "vault. Key Vault service will automatically purge it after the retention period "
            "has passed.",
        )
    del keys_table(req.store)[str(row["name"]).lower()]
    req.store.touch()
    return Response(status_code=204)

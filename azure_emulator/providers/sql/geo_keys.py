"""Database-level TDE keys across geo-replication.

A database with a database-level customer-managed key keeps a list of key versions it may use
(``properties.keys``); one of them is its ``encryptionProtector``. Azure requires every database
linked by geo-replication to hold the key material its primary is protected with: a geo-secondary
is created with the primary's keys, and before the primary's protector changes to a new version,
that version must first be added to each geo-secondary's keys, or the change is refused
(docs/azure-behaviours.md, "Database-level keys and geo-secondaries").

Versions added to a database's keys without becoming its protector are kept in
``_meta.keys_added`` (``{"kid", "from"}``): they are listed by ``$expand=keys`` but are not "in
use", so backups (and restores at a point in time) do not need them.
"""

from __future__ import annotations

from azure_emulator.errors import bad_request
from azure_emulator.state import JSON, Store


def keys_added_record(db: JSON, kids: list[str], now_iso: str) -> None:
    """Remember versions added to the database's keys (once each; the first time counts)."""
    added: list[JSON] = db.setdefault("_meta", {}).setdefault("keys_added", [])
    known = {str(entry["kid"]).lower() for entry in added}
    for kid in kids:
        if kid.lower() not in known:
            added.append({"kid": kid, "from": now_iso})
            known.add(kid.lower())


def database_key_set(db: JSON) -> set[str]:
    """Every key version the database holds (lower-case kids): its protector, the versions that
    have been its protector, and the ones added to its keys."""
    meta = db.get("_meta") or {}
    kids = {str(e["kid"]) for e in meta.get("key_history", [])}
    kids |= {str(e["kid"]) for e in meta.get("keys_added", [])}
    protector = (db.get("properties") or {}).get("encryptionProtector")
    if protector:
        kids.add(str(protector))
    return {k.lower() for k in kids}


def check_secondaries_hold(store: Store, db: JSON, kid: str) -> None:
    """Refuse making ``kid`` the protector of a geo-primary whose geo-secondary lacks it."""
    secondary_id = (db.get("_meta") or {}).get("geo_secondary_id")
    secondary = store.get(secondary_id) if secondary_id else None
    if secondary is None or kid.lower() in database_key_set(secondary):
        return
    server = secondary["id"].split("/databases/")[0].rsplit("/", 1)[-1]
    raise bad_request(
        "SameKeyMaterialNotFoundOnRemoteServer",
        "All databases linked by geo-replication should have the same key material as the "
        f"encryption protector of the primary database. Please add the key '{kid}' to the keys "
        f"of the secondary database '{secondary['name']}' on server '{server}' first.",
    )

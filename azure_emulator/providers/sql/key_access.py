"""An inaccessible TDE protector: a database whose customer-managed key stops being usable.

Azure SQL checks its access to the TDE protector in Key Vault continually. When the key version
protecting a database is disabled or deleted (or access to it removed), the database denies
connections and its status becomes ``Inaccessible`` within about ten minutes. If access comes
back within 30 minutes of that, the database heals by itself within the following hour; after
that it stays Inaccessible until the key is usable again and the protector is revalidated
(``databases/.../encryptionProtector/current/revalidate`` for a database-level key, the server's
``encryptionProtector/current/revalidate`` for the server's) (docs/azure-behaviours.md, "Key
Vault soft-delete and TDE keys" and "Self-healing of an Inaccessible database"). The emulator
heals at the end of that hour, the latest Azure promises, so a caller must not count on sooner.

The check runs whenever a database is read (the emulator has no background loop), against the
emulator's clock, so the control API's clock advance is what makes time pass. Because it runs
only on reads, it works from the key's last loss interval (when it became unusable and when it
came back, which the Key Vault provider records), so a database nobody read during an outage
ends in the state Azure would have left it in.
This module reads the ``keyvault_keys`` table directly and imports nothing from the rest of the
package, so :mod:`.common` can call it when rendering a database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from azure_emulator.state import JSON, Store, isoformat, parse_time

INACCESSIBLE_AFTER = timedelta(minutes=10)
# Key access restored within this long after the database went Inaccessible heals it by itself
SELF_HEAL_WINDOW = timedelta(minutes=30)
# ... within this long after access came back.
SELF_HEAL_WITHIN = timedelta(hours=1)
_KID = re.compile(r"/keys/([^/]+)(?:/([0-9a-fA-F]{32}))?/?$")


def protector_kid(store: Store, db: JSON) -> str | None:
    """The Key Vault key protecting ``db``: its own key, else its server's Key Vault protector."""
    own = db["properties"].get("encryptionProtector")
    if own:
        return str(own)
    server_id = db["id"].split("/databases/")[0]
    protector = store.get(f"{server_id}/encryptionProtector/current")
    if protector is None or protector["properties"].get("serverKeyType") != "AzureKeyVault":
        return None
    key = store.get(f"{server_id}/keys/{protector['properties'].get('serverKeyName')}")
    uri = (key or {}).get("properties", {}).get("uri")
    return str(uri) if uri else None


def _key_version(store: Store, kid: str) -> tuple[JSON, JSON] | None:
    """The Key Vault row and version ``kid`` names (a versionless kid: the newest version)."""
    match = _KID.search(kid)
    if match is None:
        return None
    row = store.table("keyvault_keys").get(match.group(1).lower())
    if row is None or not row.get("versions"):
        return None
    wanted = (match.group(2) or "").lower()
    versions: list[JSON] = row["versions"]
    if not wanted:
        return row, versions[-1]
    version = next((v for v in versions if str(v["version"]).lower() == wanted), None)
    return (row, version) if version is not None else None


def key_lost_since(store: Store, kid: str) -> int | None:
    """Epoch seconds since which the key version ``kid`` has been unusable; None while usable.

    A purged key or version that never existed counts as lost since the epoch (long enough ago).
    """
    found = _key_version(store, kid)
    if found is None:
        return 0
    row, version = found
    if row.get("deleted"):
        return int(row["deleted"]["at"])
    if not version.get("enabled", True):
        return int(version.get("disabled_at") or version.get("updated") or 0)
    return None


def key_loss(store: Store, kid: str) -> tuple[int, int | None] | None:
    """The key's last loss of access as (lost at, restored at or None while still lost), in
    epoch seconds; None if it has been usable all along."""
    lost = key_lost_since(store, kid)
    if lost is not None:
        return lost, None
    found = _key_version(store, kid)
    assert found is not None  # noqa: S101 - a usable key was found above
    row, version = found
    intervals = [i for i in (row.get("last_deleted"), version.get("last_disabled")) if i]
    if not intervals:
        return None
    last = max(intervals, key=lambda i: int(i["to"]))
    return int(last["from"]), int(last["to"])


def refresh_key_access(store: Store, db: JSON) -> None:
    """Bring ``db``'s status up to date with its key: Inaccessible ten minutes after the key was
    lost, Online again once a loss ended within 30 minutes of that has healed."""
    props = db.get("properties") or {}
    if db.get("name", "").lower() == "master":
        return
    if props.get("status") == "Inaccessible":
        _heal_if_due(store, db)
        return
    if props.get("status") != "Online":
        return
    kid = protector_kid(store, db)
    loss = key_loss(store, kid) if kid else None
    if kid is None or loss is None:
        return
    lost, restored = loss
    down_from = lost + INACCESSIBLE_AFTER.total_seconds()
    meta = db.get("_meta") or {}
    if (
        store.now().timestamp() < down_from
        or (restored is not None and restored < down_from)
        or _handled_before(db, meta, lost)
        or (restored is not None and _healed_by(store, lost, restored))
    ):
        return
    props["status"] = "Inaccessible"
    db.setdefault("_meta", {})["inaccessible"] = {
        "kid": kid,
        "since": isoformat(datetime.fromtimestamp(max(down_from, 0), UTC)),
        "key_lost_at": isoformat(datetime.fromtimestamp(max(lost, 0), UTC)),
    }
    store.put(db)


def _handled_before(db: JSON, meta: JSON, lost: int) -> bool:
    """The loss began before the database existed (it was created with a usable key), or a
    revalidation since the loss began found the key usable."""
    created = db["properties"].get("creationDate")
    if created and parse_time(created).timestamp() > lost:
        return True
    revalidated_at = meta.get("revalidated_at")
    return revalidated_at is not None and parse_time(str(revalidated_at)).timestamp() >= lost


def _healed_by(store: Store, lost: float, restored: float) -> bool:
    """Access came back within the self-heal window (counted from when the database went
    Inaccessible) and the hour after it has passed."""
    down_from = lost + INACCESSIBLE_AFTER.total_seconds()
    if restored - down_from > SELF_HEAL_WINDOW.total_seconds():
        return False
    return store.now().timestamp() >= restored + SELF_HEAL_WITHIN.total_seconds()


def _heal_if_due(store: Store, db: JSON) -> None:
    meta = db.get("_meta") or {}
    down = meta.get("inaccessible")
    if not down:
        return
    loss = key_loss(store, down["kid"])
    restored = loss[1] if loss else None
    if loss is None or restored is None or not _healed_by(store, loss[0], restored):
        return
    db["properties"]["status"] = "Online"
    del meta["inaccessible"]
    meta["self_healed_at"] = isoformat(
        datetime.fromtimestamp(restored + SELF_HEAL_WITHIN.total_seconds(), UTC)
    )
    store.put(db)


def revalidated(store: Store, db: JSON) -> None:
    """A revalidation that found the key usable brings an Inaccessible database back Online (and
    settles any earlier loss of the key for this database)."""
    meta = db.setdefault("_meta", {})
    meta["revalidated_at"] = isoformat(store.now())
    if db["properties"].get("status") == "Inaccessible" and "inaccessible" in meta:
        db["properties"]["status"] = "Online"
        del meta["inaccessible"]
    store.put(db)

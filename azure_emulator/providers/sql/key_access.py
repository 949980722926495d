"""An inaccessible TDE protector: a database whose customer-managed key stops being usable.

Azure SQL checks its access to the TDE protector in Key Vault continually. When the key version
protecting a database is disabled or deleted (or access to it removed), the database denies
connections and its status becomes ``Inaccessible`` within about ten minutes. It stays so until
the key is usable again and the protector is revalidated (``databases/.../encryptionProtector/
current/revalidate`` for a database-level key, the server's ``encryptionProtector/current/
revalidate`` for the server's). Azure also heals by itself when access returns within 30 minutes;
the emulator does not model that shortcut, so a test must revalidate (docs/azure-behaviours.md,
"Key Vault soft-delete and TDE keys").

The check runs whenever a database is read (the emulator has no background loop), against the
emulator's clock, so the control API's clock advance is what makes the ten minutes pass.
This module reads the ``keyvault_keys`` table directly and imports nothing from the rest of the
package, so :mod:`.common` can call it when rendering a database.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from azure_emulator.state import JSON, Store, isoformat

INACCESSIBLE_AFTER = timedelta(minutes=10)
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


def key_lost_since(store: Store, kid: str) -> int | None:
    """Epoch seconds since which the key version ``kid`` has been unusable; None while usable.

    A purged key or version that never existed counts as lost since the epoch (long enough ago).
    """
    match = _KID.search(kid)
    if match is None:
        return 0
    row = store.table("keyvault_keys").get(match.group(1).lower())
    if row is None or not row.get("versions"):
        return 0
    if row.get("deleted"):
        return int(row["deleted"]["at"])
    wanted = (match.group(2) or "").lower()
    versions: list[JSON] = row["versions"]
    version: JSON | None = versions[-1]
    if wanted:
        version = next((v for v in versions if str(v["version"]).lower() == wanted), None)
    if version is None:
        return 0
    if not version.get("enabled", True):
        return int(version.get("disabled_at") or version.get("updated") or 0)
    return None


def refresh_key_access(store: Store, db: JSON) -> None:
    """Turn an Online database Inaccessible once its key has been unusable for ten minutes."""
    props = db.get("properties") or {}
    if props.get("status") != "Online" or db.get("name", "").lower() == "master":
        return
    kid = protector_kid(store, db)
    lost = key_lost_since(store, kid) if kid else None
    if kid is None or lost is None:
        return
    if store.now().timestamp() - lost < INACCESSIBLE_AFTER.total_seconds():
        return
    since = max(lost + INACCESSIBLE_AFTER.total_seconds(), 0)
    props["status"] = "Inaccessible"
    db.setdefault("_meta", {})["inaccessible"] = {
        "kid": kid,
        "since": isoformat(datetime.fromtimestamp(since, UTC)),
    }
    store.put(db)


def revalidated(store: Store, db: JSON) -> None:
    """A revalidation that found the key usable brings an Inaccessible database back Online."""
    meta = db.get("_meta") or {}
    if db["properties"].get("status") != "Inaccessible" or "inaccessible" not in meta:
        return
    db["properties"]["status"] = "Online"
    del meta["inaccessible"]
    store.put(db)

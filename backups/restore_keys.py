"""The TDE keys a restore needs, and what it must pass so the copy keeps the tenant's key.

Azure does not carry a database-level customer-managed key over to a restored database: unless
the restore request names the user-assigned identity, every key version the backup was
encrypted with, and the protector, the copy comes back under the server's encryption (for this
fleet: service-managed) without any error. Which versions a backup needs depends on the source
(docs/azure-behaviours.md, "Restores and keys"):

- a point in time T: `GET database?$expand=keys($filter=pointInTime('T'))`;
- a deleted database: `$expand=keys` on the restorable dropped database;
- a long-term backup: Azure does not report them, so every version of the tenant's key.

Each of those must still be enabled in Key Vault, or Azure cannot decrypt the backup. For a
server-level key (the server's protector is a Key Vault key) each version in use since the point
must also still be one of the server's keys: the server, not the request, supplies them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from portal.azure import keyvault, sql
from portal.azure.errors import AzureError


class RestoreKeysError(Exception):
    """The restore cannot decrypt its backup, or the keys could not be read; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class RestoreKeys:
    """What the restore request carries for a database-level key (all empty for server-level)."""

    identity_ids: tuple[str, ...] = ()
    key_uris: tuple[str, ...] = ()
    encryption_protector: str | None = None
    finding: str = ""

    @property
    def database_level(self) -> bool:
        return self.encryption_protector is not None


def restore_keys(
    *,
    key_vault_key_id: str,
    live: sql.DatabaseInfo,
    source: str,
    moment: datetime | None,
    source_database_id: str | None = None,
    dropped_database_id: str | None = None,
) -> RestoreKeys:
    """The key versions the restore needs, each checked enabled; RestoreKeysError if not."""
    try:
        versions = {v.kid.lower(): v for v in keyvault.key_versions(key_vault_key_id)}
    except AzureError as exc:
        raise RestoreKeysError(
            f"The tenant's TDE key could not be read from Key Vault: {exc}"
        ) from exc
    if not versions:
        raise RestoreKeysError(
            "The tenant's TDE key has no versions in Key Vault; Azure could not decrypt the backup."
        )
    try:
        needed = _needed(
            versions=list(versions.values()),
            live=live,
            source=source,
            moment=moment,
            source_database_id=source_database_id,
            dropped_database_id=dropped_database_id,
        )
    except AzureError as exc:
        raise RestoreKeysError(
            f"Azure could not say which key versions the backup needs: {exc}"
        ) from exc
    if live.encryption_protector is None:
        needed = _on_server(needed, versions, live.server_id)
    _check_enabled(needed, versions, key_vault_key_id)
    if live.encryption_protector is None:
        short = ", ".join(_version(uri) for uri in needed)
        return RestoreKeys(
            finding=f"server-level key: version(s) {short} in use since the restore point, all "
            "server keys of the server and enabled"
        )
    _check_enabled([live.encryption_protector], versions, key_vault_key_id)
    short = ", ".join(_version(uri) for uri in needed)
    return RestoreKeys(
        identity_ids=live.identity_ids,
        key_uris=tuple(needed),
        encryption_protector=live.encryption_protector,
        finding=(
            f"database-level key: the backup needs version(s) {short}, all enabled; the copy is "
            f"restored with the tenant's identity and protector {_version(live.encryption_protector)}"
        ),
    )


def _needed(
    *,
    versions: list[keyvault.KeyVersion],
    live: sql.DatabaseInfo,
    source: str,
    moment: datetime | None,
    source_database_id: str | None,
    dropped_database_id: str | None,
) -> list[str]:
    if source == "long_term_backup":
        # Azure reports no keys for LTR backups: pass every version.
        return [v.kid for v in versions]
    if live.encryption_protector is None:
        # Server-level key: the version current at the restore point and every one since.
        current_then = [v for v in versions if moment is None or v.created <= moment]
        later = [v for v in versions if moment is not None and v.created > moment]
        return [v.kid for v in current_then[-1:] + later]
    if source == "deleted_database" and dropped_database_id:
        return sql.restorable_dropped_database_keys(dropped_database_id)
    assert source_database_id is not None and moment is not None  # noqa: S101 - point in time
    return [k.uri for k in sql.database_keys(source_database_id, at=moment)]


def _on_server(
    needed: list[str], versions: dict[str, keyvault.KeyVersion], server_id: str
) -> list[str]:
    """A server-level key: Azure decrypts the backup with the server's keys, so every version in
    use since the restore point must still be a server key (docs/azure-behaviours.md). Versions
    made after the current protector were never in use and are not needed."""
    try:
        protector = sql.encryption_protector(server_id)
        on_server = {k.uri.lower() for k in sql.server_keys(server_id) if k.uri}
    except AzureError as exc:
        raise RestoreKeysError(f"The server's keys could not be read: {exc}") from exc
    if protector.uri and protector.uri.lower() in versions:
        current = versions[protector.uri.lower()].created
        needed = [
            uri
            for uri in needed
            if uri.lower() not in versions or versions[uri.lower()].created <= current
        ]
    missing = [_version(uri) for uri in needed if uri.lower() not in on_server]
    if missing:
        raise RestoreKeysError(
            f"Key version(s) {', '.join(missing)} the backup needs are no longer keys of the "
            "server; add them back as server keys first or Azure cannot decrypt the backup."
        )
    return needed


def _check_enabled(
    needed: list[str], versions: dict[str, keyvault.KeyVersion], key_vault_key_id: str
) -> None:
    gone = [_version(uri) for uri in needed if uri.lower() not in versions]
    if gone:
        raise RestoreKeysError(
            f"Key version(s) {', '.join(gone)} the backup needs are no longer in Key Vault "
            f"({key_vault_key_id}); recover them first or Azure cannot decrypt the backup."
        )
    disabled = [_version(uri) for uri in needed if not versions[uri.lower()].enabled]
    if disabled:
        raise RestoreKeysError(
            f"Key version(s) {', '.join(disabled)} of {key_vault_key_id}, which the restore needs, "
            "are disabled; enable them in Key Vault first or Azure cannot decrypt the backup."
        )


def _version(uri: str) -> str:
    return uri.rstrip("/").rsplit("/", 1)[-1][:8]

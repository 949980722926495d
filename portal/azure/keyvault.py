"""Key Vault keys: the versions of a tenant's TDE key (restores need every version used since the
restore point, docs/azure-behaviours.md §4.2)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from portal.azure.clients import azure_clients
from portal.azure.errors import azure_errors


@dataclass(frozen=True)
class KeyVersion:
    version: str
    # The versioned key id (what SQL server keys and database keys refer to).
    kid: str
    enabled: bool
    created: datetime
    not_before: datetime | None
    expires: datetime | None


def key_reference(key_id: str) -> tuple[str, str]:
    """(vault URL, key name) of `https://vault/keys/name[/version]`; ValueError otherwise."""
    url = urlsplit(key_id.strip())
    segments = [s for s in url.path.split("/") if s]
    if url.scheme != "https" or not url.netloc or len(segments) not in (2, 3):
        raise ValueError(f"Not a Key Vault key id: {key_id!r}")
    if segments[0].lower() != "keys":
        raise ValueError(f"Not a Key Vault key id: {key_id!r}")
    return f"{url.scheme}://{url.netloc}", segments[1]


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def key_versions(key_id: str) -> list[KeyVersion]:
    """Every version of the key (a versioned or versionless key id), oldest first.

    Key Vault lists versions in the order of their ids, not their age, so they are sorted here.
    """
    vault_url, name = key_reference(key_id)
    client = azure_clients().keys(vault_url)
    with azure_errors():
        versions = [
            KeyVersion(
                version=str(props.version),
                kid=str(props.id),
                enabled=bool(props.enabled),
                created=_utc(props.created_on) or datetime.fromtimestamp(0, tz=UTC),
                not_before=_utc(props.not_before),
                expires=_utc(props.expires_on),
            )
            for props in client.list_properties_of_key_versions(name)
        ]
    return sorted(versions, key=lambda v: (v.created, v.version))

"""Key Vault keys and the SQL server keys that point at them (tenants' keys and the server-level one)."""

from __future__ import annotations

import base64
import random
from datetime import UTC, datetime

from azure_emulator.seed.builder import KEYVAULT_KEYS, ROLE_TAG, TENANT_TAG, FleetBuilder, Placement
from azure_emulator.state import JSON, isoformat


def key_version(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def rsa_public_numbers(rng: random.Random) -> tuple[str, str]:
    """A 2048-bit modulus-shaped number (base64url) and exponent.

    Generating real RSA keys for 2,000 tenants would take minutes; no client here does
    cryptography with a Key Vault public key, so a correctly sized odd number will do.
    """
    n = rng.getrandbits(2048) | (1 << 2047) | 1
    return base64.urlsafe_b64encode(n.to_bytes(256, "big")).decode().rstrip("="), "AQAB"


def vault_name(vault_url: str) -> str:
    """SQL names server keys ``{vault}_{key}_{version}``, the vault being the host's first label."""
    host = vault_url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0]
    return host.split(".", 1)[0]


def server_key_name(kid: str) -> str:
    parts = kid.rstrip("/").split("/")
    return f"{vault_name(kid)}_{parts[-2]}_{parts[-1]}"


def version_start(version: JSON) -> str:
    """When a key version was created, in ARM's timestamp form."""
    return isoformat(datetime.fromtimestamp(version["created"], tz=UTC))


def key_versions(rng: random.Random, created: datetime, now: datetime, count: int) -> list[JSON]:
    """``count`` enabled RSA versions, spread evenly from ``created`` (older ones were rotated)."""
    versions: list[JSON] = []
    for i in range(count):
        made = created + (now - created) * (i / count)
        n, e = rsa_public_numbers(rng)
        epoch = int(made.timestamp())
        versions.append(
            {
                "version": key_version(rng),
                "kty": "RSA",
                "key_size": 2048,
                "key_ops": ["wrapKey", "unwrapKey", "encrypt", "decrypt", "sign", "verify"],
                "n": n,
                "e": e,
                "enabled": True,
                "created": epoch,
                "updated": epoch,
                "nbf": None,
                "exp": None,
                "exportable": False,
            }
        )
    return versions


def vault_key_add(b: FleetBuilder, name: str, tags: dict[str, str], versions: list[JSON]) -> None:
    """A key in the Key Vault provider's table (enabled, no rotation policy, not deleted)."""
    b.store.tables.setdefault(KEYVAULT_KEYS, {})[name.lower()] = {
        "name": name,
        "tags": tags,
        "versions": versions,
        "rotation_policy": None,
        "deleted": None,
        "managed": False,
    }


def kids_of(b: FleetBuilder, key_name: str, versions: list[JSON]) -> list[str]:
    """The versioned key identifiers of a key's versions."""
    return [f"{b.config.keyvault_base}/keys/{key_name}/{v['version']}" for v in versions]


def server_key_add(b: FleetBuilder, server: JSON, kid: str, version: JSON, thumbprint: str) -> None:
    """A Key Vault key version registered as a server key (``{vault}_{key}_{version}``)."""
    b.put(
        {
            "id": f"{server['id']}/keys/{server_key_name(kid)}",
            "name": server_key_name(kid),
            "type": "Microsoft.Sql/servers/keys",
            "kind": "azurekeyvault",
            "location": server["location"],
            "properties": {
                "serverKeyType": "AzureKeyVault",
                "uri": kid,
                "thumbprint": thumbprint,
                "creationDate": version_start(version),
                "autoRotationEnabled": False,
                "keyVersion": version["version"],
            },
        }
    )


def server_level_key(b: FleetBuilder, server: JSON, geo: JSON) -> str:
    """A Key Vault key `tde-<server>` (two versions) as the server's TDE protector; both versions
    are server keys on the primary and the geo server. Drawn from a random stream of its own so
    the rest of the fleet is the same with or without it. Returns the current versioned kid."""
    rng = random.Random(f"{b.config.seed}-server-key-{server['name']}")  # noqa: S311 - seed data
    key_name = f"tde-{server['name']}"
    created = datetime.fromisoformat(server["_meta"]["created"])
    versions = key_versions(rng, created, b.now, 2)
    vault_key_add(b, key_name, {ROLE_TAG: "server-tde"}, versions)
    kids = kids_of(b, key_name, versions)
    for kid, version in zip(kids, versions, strict=True):
        for holder in (server, geo):
            server_key_add(b, holder, kid, version, f"{rng.getrandbits(160):040X}")
    history = [
        {"serverKeyName": server_key_name(kid), "from": version_start(v)}
        for kid, v in zip(kids, versions, strict=True)
    ]
    for holder in (server, geo):
        _protector_to_key(b, holder, kids[-1], history)
    return kids[-1]


def _protector_to_key(b: FleetBuilder, server: JSON, kid: str, history: list[JSON]) -> None:
    protector = b.store.resources[f"{server['id']}/encryptionProtector/current".lower()]
    protector["kind"] = "azurekeyvault"
    protector["properties"] = {
        "serverKeyName": server_key_name(kid),
        "serverKeyType": "AzureKeyVault",
        "autoRotationEnabled": False,
    }
    server["_meta"]["protector_history"] = list(history)


def tenant_key(
    b: FleetBuilder, place: Placement, slug: str, created: datetime
) -> list[tuple[str, JSON]]:
    """Key Vault key ``tde-<slug>``: 1-3 enabled versions (older ones from earlier rotations).

    Every version stays a server key, on the primary and on the geo server: restores of older
    backups (and geo-restores) need every version used since. Returns (kid, version) pairs,
    oldest first. On a server that holds the key itself nothing is stored, but the versions are
    still drawn so that the fleet's other random choices stay as they were before server-level
    keys existed."""
    key_name = f"tde-{slug}"
    versions = key_versions(b.rng, created, b.now, b.rng.randint(1, 3))
    if place.server_kid is None:
        vault_key_add(b, key_name, {TENANT_TAG: slug}, versions)
    pairs = list(zip(kids_of(b, key_name, versions), versions, strict=True))
    for kid, version in pairs:
        thumbprint = f"{b.rng.getrandbits(160):040X}"
        for holder in (place.primary, place.geo) if place.server_kid is None else ():
            server_key_add(b, holder, kid, version, thumbprint)
    return pairs

"""The emulated Entra ID tenant: the portal's app registration, the demo people, the signing key.

Kept in ``identity.json`` and ``signing-key.pem`` beside the state, apart from ``state.json``, so
a reset of the fleet keeps the secret and keys the portal is configured with.
"""

from __future__ import annotations

import json
import random
import secrets
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

IDENTITY_FILE = "identity.json"
SIGNING_KEY_FILE = "signing-key.pem"

APP_ROLES = ("Portal.Support", "Portal.AccountManager", "Portal.Admin")
# The portal's JSON API (same app registration, App ID URI ``api://<client id>``): app roles
# granted to daemon apps, and delegated scopes people consent to for scripts acting as them.
API_APP_ROLES = ("Fleet.Read", "Operations.Request", "Operations.Approve")
API_SCOPES = ("Operations.Read", "Operations.ReadWrite")


@dataclass
class Person:
    oid: str
    name: str
    preferred_username: str
    roles: list[str]
    title: str
    # Tenant slugs an account manager looks after; filled in from the seeded fleet.
    tenants: list[str] = field(default_factory=list)


@dataclass
class ClientApp:
    """A daemon app registered in the directory, with the portal API's app roles granted to it
    (an admin's consent to application permissions)."""

    name: str
    client_id: str
    client_secret: str
    service_principal_oid: str
    api_roles: list[str]


@dataclass
class Directory:
    tenant_id: str
    client_id: str
    client_secret: str
    service_principal_oid: str
    control_token: str
    people: list[Person]
    redirect_uris: list[str] = field(default_factory=list)
    client_apps: list[ClientApp] = field(default_factory=list)
    signing_key: rsa.RSAPrivateKey | None = None

    @property
    def key(self) -> rsa.RSAPrivateKey:
        if self.signing_key is None:
            raise RuntimeError("directory has no signing key")
        return self.signing_key

    @property
    def kid(self) -> str:
        """Key id of the current signing key."""
        return kid_of(self.key.public_key())

    def person(self, oid: str) -> Person | None:
        return next((p for p in self.people if p.oid == oid), None)

    def client_app(self, client_id: str) -> ClientApp | None:
        return next((a for a in self.client_apps if a.client_id == client_id), None)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("signing_key")
        return data


def _people(rng: random.Random) -> list[Person]:
    def oid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    domain = "fleetwise.example"
    return [
        Person(
            oid(),
            "Sasha Support",
            f"sasha.support@{domain}",
            ["Portal.Support"],
            "Support engineer",
        ),
        Person(
            oid(),
            "Avery Account",
            f"avery.account@{domain}",
            ["Portal.AccountManager"],
            "Account manager",
        ),
        Person(oid(), "Ada Admin", f"ada.admin@{domain}", ["Portal.Admin"], "Administrator"),
        Person(
            oid(),
            "Blake Admin",
            f"blake.admin@{domain}",
            ["Portal.Admin"],
            "Administrator (second approver)",
        ),
        Person(
            oid(),
            "Nico Noaccess",
            f"nico.noaccess@{domain}",
            [],
            "Staff member without a portal role",
        ),
    ]


def _client_apps(seed: int) -> list[ClientApp]:
    """The demo's automation apps: one per kind of caller the API serves, and one that was
    registered but never granted a role (its tokens carry no ``roles`` claim)."""
    # A separate generator, so adding apps does not change the people's ids.
    rng = random.Random(f"identity-apps-{seed}")  # noqa: S311 - ids, not secrets

    def guid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    grants: tuple[tuple[str, list[str]], ...] = (
        ("Fleetwise Status Board", ["Fleet.Read"]),
        ("Fleetwise Runbooks", ["Fleet.Read", "Operations.Request"]),
        ("Fleetwise Change Approver", ["Fleet.Read", "Operations.Approve"]),
        ("Fleetwise Sandbox", []),
    )
    return [
        ClientApp(name, guid(), secrets.token_urlsafe(30), guid(), roles) for name, roles in grants
    ]


def load_or_create(state_dir: Path, seed: int) -> Directory:
    """Read the directory, or create it: ids derive from the seed, secrets are random."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / IDENTITY_FILE
    key_path = state_dir / SIGNING_KEY_FILE
    if path.exists() and key_path.exists():
        data = json.loads(path.read_text(encoding="utf-8"))
        data["people"] = [Person(**p) for p in data["people"]]
        apps = data.pop("client_apps", None)
        directory = Directory(**data)
        # A directory saved before the automation apps existed gains them now.
        directory.client_apps = (
            [ClientApp(**a) for a in apps] if apps is not None else _client_apps(seed)
        )
        loaded = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise TypeError(f"{key_path} does not hold an RSA key")
        directory.signing_key = loaded
        if apps is None:
            save(state_dir, directory)
        return directory
    rng = random.Random(f"identity-{seed}")  # noqa: S311 - ids, not secrets

    def guid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    directory = Directory(
        tenant_id=guid(),
        client_id=guid(),
        client_secret=secrets.token_urlsafe(30),
        service_principal_oid=guid(),
        control_token=secrets.token_urlsafe(24),
        people=_people(rng),
        client_apps=_client_apps(seed),
        signing_key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    save(state_dir, directory)
    return directory


def kid_of(public_key: rsa.RSAPublicKey) -> str:
    """Key id: a stable hash of the public key, as Entra's ``kid`` is stable per key."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    digest = hashes.Hash(hashes.SHA256())
    digest.update(der)
    return digest.finalize().hex()[:32]


def save_signing_key(state_dir: Path, directory: Directory) -> None:
    """Write the current signing key (after a rotation, the new one replaces the file)."""
    key_path = state_dir / SIGNING_KEY_FILE
    tmp = key_path.with_suffix(".tmp")
    tmp.write_bytes(
        directory.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    tmp.chmod(0o600)
    tmp.replace(key_path)


def save(state_dir: Path, directory: Directory) -> None:
    path = state_dir / IDENTITY_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(directory.to_json(), indent=2), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)
    key_path = state_dir / SIGNING_KEY_FILE
    if not key_path.exists():
        key_path.write_bytes(
            directory.key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        key_path.chmod(0o600)

"""Where Azure is and how to reach it: real Azure from settings, or the emulator's demo.json."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class AzureConnection:
    mode: str
    tenant_id: str
    authority_host: str
    arm_endpoint: str
    metrics_endpoint: str
    subscription_ids: tuple[str, ...]
    client_id: str
    client_secret: str
    client_certificate_path: str
    client_certificate_thumbprint: str
    # A CA bundle to trust (the emulator's); None means the system's.
    ca_bundle: str | None
    keyvault_url: str
    keyvault_verify_challenge_resource: bool

    @property
    def authority(self) -> str:
        return f"{self.authority_host.rstrip('/')}/{self.tenant_id}"

    @property
    def is_emulator(self) -> bool:
        return self.mode == "emulator"


def _from_emulator() -> AzureConnection:
    path = settings.PORTAL_EMULATOR_STATE_DIR / "demo.json"
    try:
        demo = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ImproperlyConfigured(
            f"PORTAL_AZURE=emulator but {path} does not exist: start the emulator "
            "(python -m azure_emulator serve, or make demo) or set PORTAL_EMULATOR_STATE_DIR."
        ) from exc
    return AzureConnection(
        mode="emulator",
        tenant_id=demo["tenant_id"],
        authority_host=demo["authority_host"],
        arm_endpoint=demo["arm_endpoint"],
        metrics_endpoint=demo["metrics_endpoint"],
        subscription_ids=tuple(demo["subscription_ids"]),
        client_id=demo["client_id"],
        client_secret=demo["client_secret"],
        client_certificate_path="",
        client_certificate_thumbprint="",
        ca_bundle=demo["ca_bundle"],
        keyvault_url=demo["keyvault_url"],
        # 127.0.0.1 cannot be a sub-domain of the challenge's resource host (docs/azure-behaviours.md §4.4).
        keyvault_verify_challenge_resource=False,
    )


def _from_settings() -> AzureConnection:
    return AzureConnection(
        mode="azure",
        tenant_id=settings.ENTRA_TENANT_ID,
        authority_host=settings.AZURE_AUTHORITY_HOST,
        arm_endpoint=settings.AZURE_ARM_ENDPOINT,
        metrics_endpoint=settings.AZURE_METRICS_ENDPOINT,
        subscription_ids=tuple(settings.AZURE_SUBSCRIPTION_IDS),
        client_id=settings.ENTRA_CLIENT_ID,
        client_secret=settings.ENTRA_CLIENT_SECRET,
        client_certificate_path=settings.ENTRA_CLIENT_CERTIFICATE_PATH,
        client_certificate_thumbprint=settings.ENTRA_CLIENT_CERTIFICATE_THUMBPRINT,
        ca_bundle=None,
        keyvault_url="",
        keyvault_verify_challenge_resource=settings.AZURE_KEYVAULT_VERIFY_CHALLENGE_RESOURCE,
    )


@cache
def azure_connection() -> AzureConnection:
    """Read once per process; tests that switch emulators call `azure_connection.cache_clear()`."""
    return _from_emulator() if settings.PORTAL_AZURE == "emulator" else _from_settings()


class PerConnection[T]:
    """One `build(connection)` per connection, built on first use and then shared by the
    process's threads (SDK clients, the MSAL app: expensive to make, safe to share)."""

    def __init__(self, build: Callable[[AzureConnection], T]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._built: dict[AzureConnection, T] = {}

    def __call__(self) -> T:
        connection = azure_connection()
        with self._lock:
            if connection not in self._built:
                self._built[connection] = self._build(connection)
            return self._built[connection]

    def cache_clear(self) -> None:
        with self._lock:
            self._built.clear()

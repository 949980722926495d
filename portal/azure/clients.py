"""One factory for SDK clients, built once per process from the connection settings.

Every client gets explicit timeouts and a bounded retry policy (the SDK default would retry for
minutes), the CA of the emulator when it is the target, and, for real Azure, the managed
identity through DefaultAzureCredential.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

from azure.core.credentials import TokenCredential
from azure.identity import ClientSecretCredential, DefaultAzureCredential
from azure.keyvault.keys import KeyClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resourcehealth import ResourceHealthMgmtClient
from azure.mgmt.security import SecurityCenter
from azure.mgmt.sql import SqlManagementClient
from azure.mgmt.web import WebSiteManagementClient
from azure.monitor.querymetrics import MetricsClient
from django.conf import settings

from portal.azure import web_profile
from portal.azure.connection import AzureConnection, PerConnection
from portal.azure.meter import observe

ClientT = TypeVar("ClientT")

# Polling interval for long-running operations when Azure sends no Retry-After (ARM and the
# emulator send one, which the SDK prefers: docs/azure-behaviours.md §0.5). Setting AZURE_POLLING_INTERVAL
# overrides it.
POLLING_INTERVAL = 5.0


def polling_interval() -> float:
    return float(getattr(settings, "AZURE_POLLING_INTERVAL", POLLING_INTERVAL))


def _transport_options(connection: AzureConnection, *, web: bool = False) -> dict[str, Any]:
    options: dict[str, Any] = (
        {
            "connection_timeout": web_profile.CONNECT_TIMEOUT_SECONDS,
            "read_timeout": web_profile.READ_TIMEOUT_SECONDS,
            "retry_total": 1,
        }
        if web
        else {
            "connection_timeout": 10,
            "read_timeout": 60,
            # Three status retries honour Retry-After on 429/503; the task retry does the rest.
            "retry_total": 3,
            "retry_backoff_factor": 0.8,
            "retry_backoff_max": 30,
        }
    )
    if connection.ca_bundle:
        options["connection_verify"] = connection.ca_bundle
    return options


class AzureClients:
    """Clients for one connection; thread-safe, each built on first use and then reused.
    `web=True` builds them with the web profile (portal/azure/web_profile.py)."""

    def __init__(self, connection: AzureConnection, *, web: bool = False) -> None:
        self.connection = connection
        self.web_profile = web
        # Re-entrant: building a client (under the lock) asks for the credential (also under it).
        self._lock = threading.RLock()
        self._cache: dict[tuple[str, str], Any] = {}
        self._credential: TokenCredential | None = None

    def credential(self) -> TokenCredential:
        with self._lock:
            if self._credential is None:
                conn = self.connection
                if conn.is_emulator:
                    self._credential = ClientSecretCredential(
                        conn.tenant_id,
                        conn.client_id,
                        conn.client_secret,
                        authority=conn.authority_host,
                        disable_instance_discovery=True,
                        **_transport_options(conn, web=self.web_profile),
                    )
                else:
                    self._credential = DefaultAzureCredential(
                        authority=conn.authority_host,
                        **_transport_options(conn, web=self.web_profile),
                    )
            return self._credential

    def _get(self, kind: str, key: str, build: Callable[[], ClientT]) -> ClientT:
        with self._lock:
            if (kind, key) not in self._cache:
                self._cache[(kind, key)] = build()
            client: ClientT = self._cache[(kind, key)]
            return client

    def _client_kwargs(self) -> dict[str, Any]:
        options = _transport_options(self.connection, web=self.web_profile)
        if self.web_profile:
            options["retry_policy"] = web_profile.WebRetryPolicy()
        return options

    def _arm_kwargs(self) -> dict[str, Any]:
        return {
            "base_url": self.connection.arm_endpoint,
            "polling_interval": polling_interval(),
            "raw_response_hook": observe,
            **self._client_kwargs(),
        }

    def sql(self, subscription_id: str) -> SqlManagementClient:
        return self._get(
            "sql",
            subscription_id,
            lambda: SqlManagementClient(self.credential(), subscription_id, **self._arm_kwargs()),
        )

    def web(self, subscription_id: str) -> WebSiteManagementClient:
        return self._get(
            "web",
            subscription_id,
            lambda: WebSiteManagementClient(
                self.credential(), subscription_id, **self._arm_kwargs()
            ),
        )

    def monitor(self, subscription_id: str) -> MonitorManagementClient:
        return self._get(
            "monitor",
            subscription_id,
            lambda: MonitorManagementClient(
                self.credential(), subscription_id, **self._arm_kwargs()
            ),
        )

    def security(self, subscription_id: str) -> SecurityCenter:
        return self._get(
            "security",
            subscription_id,
            lambda: SecurityCenter(self.credential(), subscription_id, **self._arm_kwargs()),
        )

    def health(self, subscription_id: str) -> ResourceHealthMgmtClient:
        return self._get(
            "health",
            subscription_id,
            lambda: ResourceHealthMgmtClient(
                self.credential(), subscription_id, **self._arm_kwargs()
            ),
        )

    def keys(self, vault_url: str) -> KeyClient:
        return self._get(
            "keys",
            vault_url,
            lambda: KeyClient(
                vault_url,
                self.credential(),
                verify_challenge_resource=self.connection.keyvault_verify_challenge_resource,
                **self._client_kwargs(),
            ),
        )

    def metrics(self) -> MetricsClient:
        return self._get(
            "metrics",
            self.connection.metrics_endpoint,
            lambda: MetricsClient(
                self.connection.metrics_endpoint,
                self.credential(),
                raw_response_hook=observe,
                **self._client_kwargs(),
            ),
        )


class _ClientsForThisContext:
    """`azure_clients()`: the web-profile clients while a page is answered (inside
    `web_profile.web_budget`), the patient ones elsewhere (workers, commands)."""

    def __init__(self) -> None:
        self._patient = PerConnection(AzureClients)
        self._web = PerConnection(partial(AzureClients, web=True))

    def __call__(self) -> AzureClients:
        return self._web() if web_profile.in_web_profile() else self._patient()

    def cache_clear(self) -> None:
        self._patient.cache_clear()
        self._web.cache_clear()


azure_clients = _ClientsForThisContext()

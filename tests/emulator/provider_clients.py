"""SDK clients and small helpers shared by the provider tests (web, monitor, security, health,
Key Vault). Clients poll fast and retry little so a failing test fails in seconds."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from azure.keyvault.keys import KeyClient
from azure.mgmt.monitor import MonitorManagementClient
from azure.mgmt.resourcehealth import ResourceHealthMgmtClient
from azure.mgmt.security import SecurityCenter
from azure.mgmt.web import WebSiteManagementClient
from azure.monitor.querymetrics import MetricsClient

from azure_emulator.testing import RunningEmulator


def arm_kwargs(emulator: RunningEmulator, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": emulator.arm_endpoint,
        "connection_verify": emulator.ca_bundle,
        "polling_interval": 0.2,
        "retry_total": 2,
        "retry_backoff_factor": 0.05,
        **extra,
    }


def web(emulator: RunningEmulator, subscription: str, **extra: Any) -> WebSiteManagementClient:
    return WebSiteManagementClient(
        emulator.credential(), subscription, **arm_kwargs(emulator, **extra)
    )


def monitor(emulator: RunningEmulator, subscription: str, **extra: Any) -> MonitorManagementClient:
    return MonitorManagementClient(
        emulator.credential(), subscription, **arm_kwargs(emulator, **extra)
    )


def security(emulator: RunningEmulator, subscription: str, **extra: Any) -> SecurityCenter:
    return SecurityCenter(emulator.credential(), subscription, **arm_kwargs(emulator, **extra))


def health(emulator: RunningEmulator, subscription: str, **extra: Any) -> ResourceHealthMgmtClient:
    return ResourceHealthMgmtClient(
        emulator.credential(), subscription, **arm_kwargs(emulator, **extra)
    )


def metrics_batch(emulator: RunningEmulator) -> MetricsClient:
    return MetricsClient(
        emulator.demo["metrics_endpoint"],
        emulator.credential(),
        connection_verify=emulator.ca_bundle,
        retry_total=0,
    )


def keys(emulator: RunningEmulator, **extra: Any) -> KeyClient:
    # 127.0.0.1 cannot be a sub-domain of vault.azure.net, so the portal turns the check off.
    options: dict[str, Any] = {
        "verify_challenge_resource": False,
        "connection_verify": emulator.ca_bundle,
        "retry_total": 0,
        **extra,
    }
    return KeyClient(emulator.keyvault_url, emulator.credential(), **options)


def token(emulator: RunningEmulator, audience: str) -> str:
    return str(emulator.credential().get_token(f"{audience}/.default").token)


def raw(
    emulator: RunningEmulator,
    method: str,
    url: str,
    *,
    audience: str | None = "https://management.azure.com",
    **kwargs: Any,
) -> httpx.Response:
    """A hand-built request, for negative cases the SDKs cannot express."""
    headers = dict(kwargs.pop("headers", {}))
    if audience:
        headers["Authorization"] = f"Bearer {token(emulator, audience)}"
    verify = ssl.create_default_context(cafile=emulator.ca_bundle)
    return httpx.request(method, url, headers=headers, verify=verify, timeout=30, **kwargs)


def tenant_with(emulator: RunningEmulator, issue: str) -> dict[str, Any]:
    """A seeded tenant carrying ``issue`` (e.g. ``stopped_site``, ``unhealthy_site``)."""
    for tenant in emulator.tenants:
        if issue in tenant["seeded_issues"]:
            return tenant
    raise AssertionError(f"the seeded fleet has no tenant with {issue}")


def healthy_tenant(emulator: RunningEmulator, index: int = 0) -> dict[str, Any]:
    """The index-th tenant whose site is seeded running and healthy."""
    found = [
        t
        for t in emulator.tenants
        if not {"stopped_site", "unhealthy_site"} & set(t["seeded_issues"])
    ]
    return found[index]


@contextmanager
def regional_outage(emulator: RunningEmulator, region: str = "australiaeast") -> Iterator[None]:
    emulator.control("POST", "faults/outage", {"region": region, "active": True})
    try:
        yield
    finally:
        emulator.control("POST", "faults/outage", {"region": region, "active": False})


@contextmanager
def quick_lro(emulator: RunningEmulator, operation: str, seconds: float = 0.4) -> Iterator[None]:
    """Shorter LROs for ``operation`` (still long enough to observe them in progress)."""
    emulator.control("POST", "lro", {"operation": operation, "seconds": seconds})
    try:
        yield
    finally:
        emulator.control("POST", "lro", {"operation": operation, "seconds": emulator.lro_seconds})

"""PATCHes of a server's databases and elastic pools (`begin_update`, long-running): begun in
one process, polled from any other with the continuation token. Scaling (placement, pool size)
and TDE keys (a database's keys and protector) both change resources this way."""

from __future__ import annotations

from typing import Any

from azure.core.polling import LROPoller

from portal.azure import lro
from portal.azure.clients import azure_clients
from portal.azure.lro import LroOutcome
from portal.azure.resource_ids import ResourceId, parse
from portal.azure.sql import DATABASE, POOL


def _target(resource_id: str) -> tuple[ResourceId, Any]:
    """The id and the SDK operations group (`databases` or `elastic_pools`) that PATCH it."""
    ref = parse(resource_id)
    client = azure_clients().sql(ref.subscription_id)
    if ref.type.lower() == "databases":
        return parse(resource_id, expect=DATABASE), client.databases
    if ref.type.lower() == "elasticpools":
        return parse(resource_id, expect=POOL), client.elastic_pools
    raise ValueError(f"Expected a database or an elastic pool, not {resource_id!r}")


def patch_begin(resource_id: str, body: dict[str, Any]) -> str:
    """Send the PATCH (a raw body, so that nulls go on the wire); the continuation token."""
    ref, operations = _target(resource_id)

    def start(polling: Any) -> LROPoller[Any]:
        return operations.begin_update(  # type: ignore[no-any-return]
            ref.resource_group, ref.name_of("servers"), ref.name, body, polling=polling
        )

    return lro.begin(start)


def patch_wait(resource_id: str, continuation_token: str, *, timeout_seconds: float) -> LroOutcome:
    """Poll a PATCH begun by `patch_begin` for up to `timeout_seconds`."""
    ref, operations = _target(resource_id)

    def resume(polling: Any, token: str) -> LROPoller[Any]:
        return operations.begin_update(  # type: ignore[no-any-return]
            ref.resource_group,
            ref.name_of("servers"),
            ref.name,
            {},
            polling=polling,
            continuation_token=token,
        )

    return lro.wait(resume, continuation_token, timeout_seconds=timeout_seconds)

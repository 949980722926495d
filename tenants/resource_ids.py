"""Shapes of the Azure resource ids the catalogue stores, checked without calling Azure.

ARM ids are case-insensitive, so matching ignores case; the stored value keeps the casing given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from portal.resource_ids import parse

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
SUBSCRIPTION_ID = re.compile(rf"^{_GUID}$")
# What Azure allows in a resource group's name and in the names the portal stores.
_RESOURCE_GROUP = re.compile(r"^[-\w._()]{1,90}$")
_NAME = re.compile(r"^[-\w.]{1,128}$")


@dataclass(frozen=True)
class ResourceKind:
    label: str
    # The resource type, as portal.resource_ids.parse checks it: "Microsoft.Sql/servers/databases".
    expect: str
    example: str


_EX = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-fw-acme/providers"
SITE = ResourceKind(
    "App Service site", "Microsoft.Web/sites", f"{_EX}/Microsoft.Web/sites/app-fw-acme"
)
PLAN = ResourceKind(
    "App Service plan",
    "Microsoft.Web/serverfarms",
    f"{_EX}/Microsoft.Web/serverfarms/plan-fw-acme",
)
SQL_SERVER = ResourceKind(
    "SQL server", "Microsoft.Sql/servers", f"{_EX}/Microsoft.Sql/servers/sql-fw-aue-01"
)
DATABASE = ResourceKind(
    "SQL database",
    "Microsoft.Sql/servers/databases",
    f"{_EX}/Microsoft.Sql/servers/sql-fw-aue-01/databases/db-acme",
)
ELASTIC_POOL = ResourceKind(
    "elastic pool",
    "Microsoft.Sql/servers/elasticPools",
    f"{_EX}/Microsoft.Sql/servers/sql-fw-aue-01/elasticPools/pool-01",
)
APP_INSIGHTS = ResourceKind(
    "Application Insights component",
    "Microsoft.Insights/components",
    f"{_EX}/Microsoft.Insights/components/appi-fw-acme",
)

_KEY_PATH = re.compile(r"^/keys/(?P<name>[0-9A-Za-z-]{1,127})(/(?P<version>[0-9A-Za-z]{1,64}))?/?$")


def resource_id_parts(kind: ResourceKind, value: str) -> dict[str, str]:
    """The parts of a catalogue id of `kind` (subscription, resource_group, name, and server
    for a server's child), read by the portal's one parser, or a ValidationError."""
    try:
        parsed = parse(value, expect=kind.expect)
    except ValueError:
        parsed = None
    if (
        parsed is None
        or not value.startswith("/")
        or value != value.strip()
        or value.endswith("/")
        or not SUBSCRIPTION_ID.match(parsed.subscription_id)
        or not _RESOURCE_GROUP.match(parsed.resource_group)
        or not all(_NAME.match(name) for _, name in parsed.path)
    ):
        raise ValidationError(
            f"Not a valid {kind.label} resource id. Expected the form {kind.example}",
            code="invalid_resource_id",
        )
    parts = {
        "subscription": parsed.subscription_id,
        "resource_group": parsed.resource_group,
        "name": parsed.name,
    }
    if len(parsed.path) > 1:
        parts["server"] = parsed.path[0][1]
    return parts


_KINDS = {k.label: k for k in (SITE, PLAN, SQL_SERVER, DATABASE, ELASTIC_POOL, APP_INSIGHTS)}


class ResourceIdValidator:
    """A deconstructible validator (migrations serialise it by its label)."""

    def __init__(self, label: str) -> None:
        self.label = label

    def __call__(self, value: str) -> None:
        resource_id_parts(_KINDS[self.label], value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ResourceIdValidator) and other.label == self.label

    def __hash__(self) -> int:
        return hash(self.label)

    def deconstruct(self) -> tuple[str, tuple[str], dict[str, str]]:
        return ("tenants.resource_ids.ResourceIdValidator", (self.label,), {})


def validate_subscription_id(value: str) -> None:
    if not SUBSCRIPTION_ID.match(value):
        raise ValidationError(
            "Not a valid subscription id: expected a GUID such as 00000000-0000-0000-0000-000000000000.",
            code="invalid_subscription_id",
        )


def validate_key_vault_key_id(value: str) -> None:
    """A Key Vault key URL, with or without a version: https://<vault>/keys/<name>[/<version>]."""
    parts = urlsplit(value)
    if parts.scheme != "https" or not parts.hostname or not _KEY_PATH.match(parts.path):
        raise ValidationError(
            "Not a valid Key Vault key id. Expected https://<vault>.vault.azure.net/keys/<name>[/<version>]",
            code="invalid_key_id",
        )

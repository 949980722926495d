"""Shapes of the Azure resource ids the catalogue stores, checked without calling Azure.

ARM ids are case-insensitive, so matching ignores case; the stored value keeps the casing given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

_GUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_RG = r"[-\w._()]{1,90}"
_NAME = r"[-\w.]{1,128}"
_BASE = (
    rf"/subscriptions/(?P<subscription>{_GUID})/resourceGroups/(?P<resource_group>{_RG})/providers"
)

SUBSCRIPTION_ID = re.compile(rf"^{_GUID}$")


@dataclass(frozen=True)
class ResourceKind:
    label: str
    pattern: re.Pattern[str]
    example: str


def _kind(label: str, suffix: str, example: str) -> ResourceKind:
    return ResourceKind(label, re.compile(rf"^{_BASE}{suffix}$", re.IGNORECASE), example)


_EX = "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg-fw-acme/providers"
SITE = _kind(
    "App Service site",
    rf"/Microsoft\.Web/sites/(?P<name>{_NAME})",
    f"{_EX}/Microsoft.Web/sites/app-fw-acme",
)
PLAN = _kind(
    "App Service plan",
    rf"/Microsoft\.Web/serverfarms/(?P<name>{_NAME})",
    f"{_EX}/Microsoft.Web/serverfarms/plan-fw-acme",
)
SQL_SERVER = _kind(
    "SQL server",
    rf"/Microsoft\.Sql/servers/(?P<name>{_NAME})",
    f"{_EX}/Microsoft.Sql/servers/sql-fw-aue-01",
)
DATABASE = _kind(
    "SQL database",
    rf"/Microsoft\.Sql/servers/(?P<server>{_NAME})/databases/(?P<name>{_NAME})",
    f"{_EX}/Microsoft.Sql/servers/sql-fw-aue-01/databases/db-acme",
)
ELASTIC_POOL = _kind(
    "elastic pool",
    rf"/Microsoft\.Sql/servers/(?P<server>{_NAME})/elasticPools/(?P<name>{_NAME})",
    f"{_EX}/Microsoft.Sql/servers/sql-fw-aue-01/elasticPools/pool-01",
)
APP_INSIGHTS = _kind(
    "Application Insights component",
    rf"/Microsoft\.Insights/components/(?P<name>{_NAME})",
    f"{_EX}/Microsoft.Insights/components/appi-fw-acme",
)

_KEY_PATH = re.compile(r"^/keys/(?P<name>[0-9A-Za-z-]{1,127})(/(?P<version>[0-9A-Za-z]{1,64}))?/?$")


def resource_id_parts(kind: ResourceKind, value: str) -> dict[str, str]:
    match = kind.pattern.match(value)
    if not match:
        raise ValidationError(
            f"Not a valid {kind.label} resource id. Expected the form {kind.example}",
            code="invalid_resource_id",
        )
    return match.groupdict()


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

"""Defender for Cloud alerts on tenants' databases and sites (served by the Security provider)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from azure_emulator.seed.builder import SECURITY_LOCATION, FleetBuilder
from azure_emulator.state import JSON, isoformat

ALERT_KINDS = (
    (
        "High",
        "SQL.DB_BruteForce",
        "Potential SQL Brute Force attempt",
        "There has been an unusually high number of failed sign-in attempts with different credentials.",
        "PreAttack",
        "database",
    ),
    (
        "High",
        "SQL.DB_PotentialSqlInjection",
        "Potential SQL injection",
        "An application generated a faulty SQL statement that might indicate a SQL injection vulnerability.",
        "Exploitation",
        "database",
    ),
    (
        "Medium",
        "SQL.DB_AnomalousAccess",
        "Login from an unusual location",
        "Someone has logged on to your SQL server from an unusual location.",
        "Probing",
        "database",
    ),
    (
        "Medium",
        "AppServices_AnomalousPageAccess",
        "Suspicious access to possibly vulnerable web page detected",
        "A web page was accessed that is commonly exploited by attackers.",
        "InitialAccess",
        "site",
    ),
    (
        "Low",
        "AppServices_WpScanner",
        "Vulnerability scanner detected",
        "Activity log shows that a vulnerability scanner was used on your App Service.",
        "PreAttack",
        "site",
    ),
    (
        "Informational",
        "AppServices_CurlToDisk",
        "Suspicious download using curl",
        "A file was downloaded to disk using curl on the App Service host.",
        "Execution",
        "site",
    ),
)


@dataclass(frozen=True)
class AlertKind:
    severity: str
    alert_type: str
    display: str
    description: str
    intent: str
    target: str  # "database" or "site"


def alerts(b: FleetBuilder, tenants: list[JSON]) -> None:
    """Defender for Cloud alerts (served by the Security provider): a few, of every severity."""
    rng = b.rng
    count = min(len(tenants) * 2, max(6, len(tenants) // 6))
    for i in range(count):
        tenant = rng.choice(tenants)
        kind = AlertKind(*ALERT_KINDS[i % len(ALERT_KINDS)])
        resource_id = tenant["database_id"] if kind.target == "database" else tenant["site_id"]
        start = b.now - timedelta(hours=rng.uniform(1, 24 * 20))
        name = f"2517{rng.getrandbits(40):012d}_{b.guid()}"
        status = rng.choice(("Active", "Active", "Active", "InProgress", "Resolved", "Dismissed"))
        b.put(
            {
                "id": f"{tenant['resource_group_id']}/providers/Microsoft.Security/locations/"
                f"{SECURITY_LOCATION}/alerts/{name}",
                "name": name,
                "type": "Microsoft.Security/Locations/alerts",
                "properties": _alert_properties(
                    b, kind, name, resource_id, start, status, tenant["slug"]
                ),
                "_meta": {"tenant": tenant["slug"], "resource_id": resource_id},
            }
        )


def _alert_properties(
    b: FleetBuilder,
    kind: AlertKind,
    name: str,
    resource_id: str,
    start: datetime,
    status: str,
    tenant_slug: str,
) -> JSON:
    return {
        "alertType": kind.alert_type,
        "systemAlertId": name,
        "productComponentName": "Databases" if kind.target == "database" else "AppServices",
        "alertDisplayName": kind.display,
        "description": kind.description,
        "severity": kind.severity,
        "intent": kind.intent,
        "startTimeUtc": isoformat(start),
        "endTimeUtc": isoformat(start + timedelta(minutes=b.rng.randint(1, 90))),
        "resourceIdentifiers": [{"type": "AzureResource", "azureResourceId": resource_id}],
        "remediationSteps": [
            "Investigate the activity and block the source if it is not expected.",
            "Review the resource's access and firewall rules.",
        ],
        "vendorName": "Microsoft",
        "status": status,
        "extendedLinks": [],
        "alertUri": f"https://portal.azure.com/#blade/Microsoft_Azure_Security/AlertBlade/alertId/{name}",
        "timeGeneratedUtc": isoformat(start + timedelta(minutes=5)),
        "productName": "Microsoft Defender for Cloud",
        "processingEndTimeUtc": isoformat(start + timedelta(minutes=6)),
        "entities": [{"type": "azure-resource", "resourceId": resource_id}],
        "isIncident": False,
        "correlationKey": f"{b.rng.getrandbits(64):016x}",
        "extendedProperties": {"tenant": tenant_slug},
        "compromisedEntity": resource_id.rsplit("/", 1)[-1],
        "techniques": [],
        "subTechniques": [],
    }

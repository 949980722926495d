"""Microsoft.Security assessments (Defender for Cloud recommendations), api-version 2021-06-01
(docs/azure-behaviours.md, "Defender recommendations").

`GET /{scope}/providers/Microsoft.Security/assessments` lists every assessment at or below the
scope (a subscription here): one per (resource, recommendation), each with `resourceDetails`
(`source: Azure`, `id` = the assessed resource), `displayName` and `status.code`
(Healthy / Unhealthy / NotApplicable; Unhealthy ones carry `cause` and `description`). The
list does not carry severity or remediation: those are the recommendation's metadata, listed
once for the whole cloud at `GET /providers/Microsoft.Security/assessmentMetadata` and joined
on the assessment's name (the metadata key). Stored in the table `security_assessments`, not
as resources, so lists of a site's or group's children do not see them. Subscription-scoped
like the rest of Defender, so regional outages do not touch these routes.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, Router, page
from azure_emulator.state import JSON, Store, isoformat

TABLE = "security_assessments"
TYPE = "Microsoft.Security/assessments"
METADATA_TYPE = "Microsoft.Security/assessmentMetadata"
# Fixed keys for the emulator's built-in recommendations (the key is the assessment's name).
# (key, target, display name, severity, description, remediation)
BUILT_IN: tuple[tuple[str, str, str, str, str, str], ...] = (
    (
        "1b351b29-41ca-6df5-946c-c190a56be5fe", "site",
        "Web apps should only be accessible over HTTPS", "High",
        "Use of HTTPS ensures server and service authentication and protects data in transit "
        "from network layer eavesdropping attacks.",
        "Open the App Service, go to TLS/SSL settings and turn HTTPS Only on.",
    ),
    (
        "67fc622b-4ce6-8c52-08ae-9f830036b757", "site",
        "FTPS should be required in web apps", "High",
        "Enforce FTPS for enhanced security of deployments to the app.",
        "Open the App Service, go to Configuration > General settings and set FTP state to "
        "FTPS only.",
    ),
    (
        "82e20e14-edc5-4373-bfc4-f13121257c37", "database",
        "SQL databases should have vulnerability findings resolved", "High",
        "SQL vulnerability assessment scans the database for security vulnerabilities and "
        "exposes deviations from best practices such as misconfigurations and excessive "
        "permissions.",
        "Review the vulnerability assessment's findings for the database and fix each one, "
        "or approve it as the baseline.",
    ),
    (
        "b0a5eb9b-0ad1-4e8e-93c8-3d5e1bfc6e8d", "database",
        "Auditing retention for SQL databases should be at least 90 days", "Low",
        "Audit logs kept for less than 90 days may be gone before an incident is investigated.",
        "Open the SQL server's Auditing settings and set the retention to 90 days or more.",
    ),
)  # fmt: skip

router = Router()


def metadata_body(entry: tuple[str, str, str, str, str, str]) -> JSON:
    key, _, display, severity, description, remediation = entry
    return {
        "id": f"/providers/Microsoft.Security/assessmentMetadata/{key}",
        "name": key,
        "type": METADATA_TYPE,
        "properties": {
            "displayName": display,
            "description": description,
            "remediationDescription": remediation,
            "categories": ["Compute" if entry[1] == "site" else "Data"],
            "severity": severity,
            "userImpact": "Low",
            "implementationEffort": "Low",
            "assessmentType": "BuiltIn",
        },
    }


def assessment_body(
    entry: tuple[str, str, str, str, str, str], resource_id: str, code: str, at: str
) -> JSON:
    key, display = entry[0], entry[2]
    status: JSON = {"code": code, "firstEvaluationDate": at, "statusChangeDate": at}
    if code == "Unhealthy":
        status |= {"cause": "", "description": display}
    return {
        "id": f"{resource_id}/providers/Microsoft.Security/assessments/{key}",
        "name": key,
        "type": TYPE,
        "properties": {
            "resourceDetails": {"source": "Azure", "id": resource_id},
            "displayName": display,
            "status": status,
            "additionalData": {},
        },
    }


@router.route(
    "GET",
    "/subscriptions/{subscription}/providers/Microsoft.Security/assessments",
    "security.assessments.list",
    outage_exempt=True,
)
def assessments_list(req: ArmRequest) -> Response:
    prefix = f"/subscriptions/{req.params['subscription']}/".lower()
    items = [a for k, a in req.store.table(TABLE).items() if k.startswith(prefix)]
    return page(req, sorted(items, key=lambda a: str(a["id"]).lower()), page_size=200)


@router.route(
    "GET",
    "/providers/Microsoft.Security/assessmentMetadata",
    "security.assessments_metadata.list",
    outage_exempt=True,
)
def metadata_list(req: ArmRequest) -> Response:
    return page(req, [metadata_body(entry) for entry in BUILT_IN], page_size=200)


def seed_hook(*, store: Store, config: Any, rng: Any) -> None:
    """Every tenant's site and database assessed against each built-in recommendation: most
    Healthy; every fifth tenant (the second, seventh, ...) Unhealthy on two of them, chosen by
    the seeded rng, so even a small test fleet has some."""
    table = store.table(TABLE)
    at = isoformat(store.now())
    for number, tenant in enumerate(store.info.get("fleet", {}).get("tenants", [])):
        unhealthy = set(rng.sample(range(len(BUILT_IN)), 2)) if number % 5 == 1 else set()
        for index, entry in enumerate(BUILT_IN):
            resource_id = tenant["site_id"] if entry[1] == "site" else tenant["database_id"]
            code = "Unhealthy" if index in unhealthy else "Healthy"
            body = assessment_body(entry, resource_id, code, at)
            table[str(body["id"]).lower()] = body
    store.touch()

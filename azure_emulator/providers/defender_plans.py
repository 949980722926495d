"""Microsoft.Security pricings (Defender for Cloud plans), api-version 2024-01-01.

`GET {scope}/providers/Microsoft.Security/pricings` lists a subscription's plans and
`GET|PUT .../pricings/{name}` reads or sets one (Microsoft Learn, "Pricings - List / Get /
Update", REST API 2024-01-01: body `{"properties": {"pricingTier": "Free" | "Standard",
"subPlan"?}}`, answer the Pricing resource). Stored per subscription in the table
`defender_pricings`; seeded with every plan the portal's posture check reads on (Standard),
as the company's statement requires. Subscription-scoped, so not touched by regional outages.
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, Router, respond
from azure_emulator.errors import ArmError
from azure_emulator.state import JSON, Store, isoformat

SCOPE = "/subscriptions/{subscription}/providers/Microsoft.Security/pricings"
PLANS = (
    "VirtualMachines", "SqlServers", "AppServices", "StorageAccounts", "KeyVaults", "Arm",
    "SqlServerVirtualMachines", "OpenSourceRelationalDatabases", "CosmosDbs", "Containers",
)  # fmt: skip
TIERS = ("Free", "Standard")
TABLE = "defender_pricings"

router = Router()


def _plans(store: Store, subscription: str) -> dict[str, JSON]:
    table = store.table(TABLE)
    key = subscription.lower()
    if key not in table:
        table[key] = {
            plan: {"pricingTier": "Standard", "enablementTime": isoformat(store.now())}
            for plan in PLANS
        }
        store.touch()
    plans: dict[str, JSON] = table[key]
    return plans


def _body(subscription: str, name: str, row: JSON) -> JSON:
    standard = row["pricingTier"] == "Standard"
    properties: dict[str, Any] = {
        "pricingTier": row["pricingTier"],
        "freeTrialRemainingTime": "PT0S",
        "deprecated": False,
    }
    if standard:
        properties["enablementTime"] = row.get("enablementTime")
    if row.get("subPlan"):
        properties["subPlan"] = row["subPlan"]
    return {
        "id": f"/subscriptions/{subscription}/providers/Microsoft.Security/pricings/{name}",
        "name": name,
        "type": "Microsoft.Security/pricings",
        "properties": properties,
    }


def _name(req: ArmRequest) -> str:
    wanted = req.params["name"].lower()
    for plan in PLANS:
        if plan.lower() == wanted:
            return plan
    raise ArmError(404, "NotFound", f"The pricing '{req.params['name']}' was not found.")


@router.route("GET", SCOPE, "security.pricings.list")
def pricings_list(req: ArmRequest) -> Response:
    subscription = req.params["subscription"]
    plans = _plans(req.store, subscription)
    return respond({"value": [_body(subscription, name, plans[name]) for name in PLANS]})


@router.route("GET", SCOPE + "/{name}", "security.pricings.get")
def pricing_get(req: ArmRequest) -> Response:
    subscription, name = req.params["subscription"], _name(req)
    return respond(_body(subscription, name, _plans(req.store, subscription)[name]))


@router.route("PUT", SCOPE + "/{name}", "security.pricings.update")
def pricing_put(req: ArmRequest) -> Response:
    subscription, name = req.params["subscription"], _name(req)
    properties = req.json().get("properties") or {}
    tier = properties.get("pricingTier")
    if tier not in TIERS:
        raise ArmError(
            400, "InvalidInputJson", f"pricingTier must be one of {', '.join(TIERS)}, not {tier!r}."
        )
    row = _plans(req.store, subscription)[name]
    if tier != row["pricingTier"]:
        row["enablementTime"] = isoformat(req.store.now())
    row["pricingTier"] = tier
    row["subPlan"] = properties.get("subPlan")
    req.store.touch()
    return respond(_body(subscription, name, row))

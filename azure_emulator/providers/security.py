"""Microsoft.Security alerts (Defender for Cloud), api-version 2022-01-01 (docs/azure-behaviours.md §7).

An alert is stored either at subscription level or at resource-group level, and its id says
which: ``.../resourceGroups/{rg}/providers/Microsoft.Security/locations/{asc}/alerts/{name}`` or
``/subscriptions/{sub}/providers/Microsoft.Security/locations/{asc}/alerts/{name}``. Asking for an
alert at the other level, or in another ASC location, answers 404, as Defender does.

Alerts are stored resources of type ``Microsoft.Security/Locations/alerts``: the core seed puts a
few of every severity in tenants' resource groups, and :func:`seed_hook` adds one
subscription-level alert per subscription. Defender keeps answering during a regional outage
of the resources it watches, so these routes ignore the emulator's outage.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, Handler, Router, page, respond
from azure_emulator.errors import ArmError
from azure_emulator.providers.metric_curves import unit_hash
from azure_emulator.state import JSON, Store, parse_time

ALERT_TYPE = "Microsoft.Security/Locations/alerts"
SUB = "/subscriptions/{subscription}"
GROUP = SUB + "/resourceGroups/{group}"
SUB_ALERTS = SUB + "/providers/Microsoft.Security/locations/{asc}/alerts"
GROUP_ALERTS = GROUP + "/providers/Microsoft.Security/locations/{asc}/alerts"
# URL action -> (status it sets, the SDK method's suffix)
STATES = {
    "dismiss": ("Dismissed", "dismiss"),
    "resolve": ("Resolved", "resolve"),
    "activate": ("Active", "activate"),
    "inProgress": ("InProgress", "in_progress"),
}


def _time(moment: datetime) -> str:
    """Defender writes 7 fractional digits (.NET ticks)."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}0Z"


def alert_name(seed: str) -> str:
    """Defender's ``{ticks}_{guid}`` naming, derived from ``seed`` so a reseed gives the same."""
    ticks = int(unit_hash(seed, "ticks") * 10**12)
    guid = uuid.UUID(int=int(unit_hash(seed, "guid") * 2**64) << 64 | ticks, version=4)
    return f"2517{ticks:012d}_{guid}"


def new_alert(
    *,
    subscription: str,
    asc_location: str,
    generated: datetime,
    alert_type: str,
    display_name: str,
    description: str,
    severity: str,
    intent: str,
    resource_id: str,
    compromised_entity: str,
    remediation: list[str],
    group: str | None = None,
    status: str = "Active",
    seed: str = "",
    workspace: JSON | None = None,
    extended: dict[str, str] | None = None,
    product: str = "Microsoft Defender for Cloud",
    component: str = "AppServices",
) -> JSON:
    """An alert body as Defender returns it; ``group`` makes it a resource-group-level alert."""
    name = alert_name(seed or f"{resource_id}|{alert_type}|{generated.isoformat()}")
    scope = f"/subscriptions/{subscription}" + (f"/resourceGroups/{group}" if group else "")
    identifiers: list[JSON] = [{"type": "AzureResource", "azureResourceId": resource_id}]
    if workspace:
        identifiers.append({"type": "LogAnalytics", **workspace})
    system_id = name.split("_", 1)[1]
    return {
        "id": f"{scope}/providers/Microsoft.Security/locations/{asc_location}/alerts/{name}",
        "name": name,
        "type": ALERT_TYPE,
        "properties": {
            "version": "2022-01-01.0",
            "alertType": alert_type,
            "systemAlertId": system_id,
            "productComponentName": component,
            "alertDisplayName": display_name,
            "description": description,
            "severity": severity,
            "intent": intent,
            "startTimeUtc": _time(generated - timedelta(minutes=12)),
            "endTimeUtc": _time(generated - timedelta(minutes=2)),
            "resourceIdentifiers": identifiers,
            "remediationSteps": remediation,
            "vendorName": "Microsoft",
            "status": status,
            "extendedLinks": [],
            "alertUri": (
                "https://portal.azure.com/#blade/Microsoft_Azure_Security_AzureDefenderForData/"
                f"AlertBlade/alertId/{system_id}/subscriptionId/{subscription}"
            ),
            "timeGeneratedUtc": _time(generated),
            "productName": product,
            "processingEndTimeUtc": _time(generated + timedelta(minutes=1)),
            "entities": [
                {"$id": "1", "ResourceId": resource_id, "Type": "azure-resource"},
            ],
            "isIncident": False,
            "correlationKey": str(
                uuid.UUID(int=int(unit_hash(name, "corr") * 2**64) << 64, version=4)
            ),
            "extendedProperties": {
                "resourceType": resource_id.split("/providers/", 1)[-1].split("/")[0],
                **(extended or {}),
            },
            "compromisedEntity": compromised_entity,
            "techniques": [],
            "subTechniques": [],
        },
    }


def all_alerts(store: Store, scope: str) -> list[JSON]:
    return list(store.of_type(ALERT_TYPE, scope))


def _sorted(items: list[JSON]) -> list[JSON]:
    # Newest first, as Defender lists them.
    # Compare instants, not strings: seeded alerts and Defender's 7-digit times differ in form.
    return sorted(
        items, key=lambda a: parse_time(a["properties"]["timeGeneratedUtc"]), reverse=True
    )


def _scope_of(alert: JSON) -> tuple[str, str | None, str]:
    """(subscription, resource group or None, asc location) from an alert id."""
    parts = [p for p in str(alert["id"]).split("/") if p]
    lowered = [p.lower() for p in parts]
    group = parts[lowered.index("resourcegroups") + 1] if "resourcegroups" in lowered else None
    asc = parts[lowered.index("locations") + 1]
    return parts[1].lower(), group, asc


def _select(
    store: Store,
    subscription: str,
    *,
    group: str | None = None,
    asc: str | None = None,
    group_level_only: bool = False,
    subscription_level_only: bool = False,
) -> list[JSON]:
    found = []
    for alert in all_alerts(store, f"/subscriptions/{subscription}"):
        sub, alert_group, alert_asc = _scope_of(alert)
        if sub != subscription.lower():
            continue
        if group is not None and (alert_group or "").lower() != group.lower():
            continue
        if group_level_only and alert_group is None:
            continue
        if subscription_level_only and alert_group is not None:
            continue
        if asc is not None and alert_asc.lower() != asc.lower():
            continue
        found.append(alert)
    return _sorted(found)


def _find(req: ArmRequest, group: str | None) -> JSON:
    p = req.params
    scope = f"/subscriptions/{p['subscription']}" + (f"/resourceGroups/{group}" if group else "")
    alert_id = f"{scope}/providers/Microsoft.Security/locations/{p['asc']}/alerts/{p['name']}"
    alert = req.store.get(alert_id)
    if alert is None or str(alert.get("type", "")).lower() != ALERT_TYPE.lower():
        raise ArmError(
            404,
            "NotFound",
            f"Alert '{p['name']}' was not found in location '{p['asc']}'"
            + (f" of resource group '{group}'." if group else " at subscription level."),
        )
    return alert


router = Router()


def _route(method: str, template: str, operation: str) -> Callable[[Handler], Handler]:
    return router.route(method, template, operation, outage_exempt=True)


@_route("GET", SUB + "/providers/Microsoft.Security/alerts", "security.alerts.list")
def alerts_list(req: ArmRequest) -> Response:
    return page(req, _select(req.store, req.params["subscription"]), page_size=100)


@_route(
    "GET", GROUP + "/providers/Microsoft.Security/alerts", "security.alerts.list_by_resource_group"
)
def alerts_list_by_group(req: ArmRequest) -> Response:
    p = req.params
    return page(req, _select(req.store, p["subscription"], group=p["group"]), page_size=100)


@_route("GET", SUB_ALERTS, "security.alerts.list_subscription_level_by_region")
def alerts_by_region(req: ArmRequest) -> Response:
    p = req.params
    items = _select(req.store, p["subscription"], asc=p["asc"], subscription_level_only=True)
    return page(req, items, page_size=100)


@_route("GET", GROUP_ALERTS, "security.alerts.list_resource_group_level_by_region")
def alerts_by_group_region(req: ArmRequest) -> Response:
    p = req.params
    items = _select(
        req.store, p["subscription"], group=p["group"], asc=p["asc"], group_level_only=True
    )
    return page(req, items, page_size=100)


@_route("GET", SUB_ALERTS + "/{name}", "security.alerts.get_subscription_level")
def alert_get(req: ArmRequest) -> Response:
    return respond(_find(req, None))


@_route("GET", GROUP_ALERTS + "/{name}", "security.alerts.get_resource_group_level")
def alert_get_in_group(req: ArmRequest) -> Response:
    return respond(_find(req, req.params["group"]))


def _transition(req: ArmRequest, group: str | None) -> Response:
    action = req.path.rstrip("/").rsplit("/", 1)[-1]
    state = next(v[0] for k, v in STATES.items() if k.lower() == action.lower())
    alert = _find(req, group)
    alert["properties"]["status"] = state
    req.store.touch()
    return Response(status_code=204)


def _sub_state(req: ArmRequest) -> Response:
    return _transition(req, None)


def _group_state(req: ArmRequest) -> Response:
    return _transition(req, req.params["group"])


for _action, (_, _suffix) in STATES.items():
    _route(
        "POST",
        f"{SUB_ALERTS}/{{name}}/{_action}",
        f"security.alerts.update_subscription_level_state_to_{_suffix}",
    )(_sub_state)
    _route(
        "POST",
        f"{GROUP_ALERTS}/{{name}}/{_action}",
        f"security.alerts.update_resource_group_level_state_to_{_suffix}",
    )(_group_state)


def seed_hook(*, store: Store, config: Any, rng: Any) -> None:
    """One subscription-level alert per subscription (the core seeds resource-group ones)."""
    seeded_at = store.now()
    for index, sub in enumerate(store.info.get("subscriptions", [])):
        subscription = sub["subscription_id"]
        generated = seeded_at - timedelta(hours=rng.uniform(2, 72))
        alert = new_alert(
            subscription=subscription,
            asc_location="australiaeast",
            generated=generated,
            alert_type="ARM_AnomalousRBACRoleAssignment",
            display_name="Suspicious Azure role assignment detected",
            description=(
                "Defender for Resource Manager identified an unusual role assignment in your "
                "subscription that might indicate an attempt to gain persistence."
            ),
            severity=("Medium", "High")[index % 2],
            intent="Persistence",
            resource_id=f"/subscriptions/{subscription}",
            compromised_entity=sub.get("display_name", subscription),
            remediation=[
                "Review the role assignment and the principal that made it.",
                "Remove the assignment if it is not expected and rotate the principal's credentials.",
            ],
            seed=f"{config.seed}|{subscription}|rbac",
            workspace={
                "workspaceId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "workspaceSubscriptionId": subscription,
                "workspaceResourceGroup": "rg-fleetwise-security",
                "agentId": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            },
            product="Microsoft Defender for Resource Manager",
            component="ResourceManager",
        )
        alert["_meta"] = {"tenant": None, "resource_id": f"/subscriptions/{subscription}"}
        store.put(alert)

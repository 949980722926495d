"""Microsoft.ResourceHealth availability statuses, api-version 2025-05-01 (docs/azure-behaviours.md §8).

Statuses are derived, never stored: a site that is stopped is Unavailable (customer initiated),
one failing its health checks is Degraded, a database that is not Online is Unavailable or
Unknown, and everything in a region under the emulator's injected outage is Unavailable
(platform initiated). Resource Health is how Azure tells you about an outage, so its routes are
exempt from the outage's 503.

Covered resource types: App Service sites and plans, SQL databases and elastic pools.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from starlette.responses import Response

from azure_emulator.arm import ArmRequest, Handler, Router, normalise_region, page, respond
from azure_emulator.errors import ArmError, not_found
from azure_emulator.faults import Faults
from azure_emulator.providers.monitor_catalogue import DB_TYPE, POOL_TYPE, outage_start
from azure_emulator.providers.site_database import missing_database
from azure_emulator.providers.sql.key_access import refresh_key_access
from azure_emulator.providers.web import PLAN_TYPE, SITE_TYPE, windows_of
from azure_emulator.state import JSON, Store, isoformat, parse_time

STATUS_TYPE = "Microsoft.ResourceHealth/AvailabilityStatuses"
COVERED = tuple(t.lower() for t in (SITE_TYPE, PLAN_TYPE, DB_TYPE, POOL_TYPE))
SUFFIX = "/providers/Microsoft.ResourceHealth/availabilityStatuses"
RECENT = timedelta(hours=24)
PAGE_SIZE = 100

# Database statuses that mean "not serving" vs. "in transition, nothing to say yet".
_DB_DOWN = {"Offline", "Inaccessible", "Suspect", "EmergencyMode", "Disabled", "Stopped", "Paused",
            "Shutdown", "RecoveryPending", "OfflineSecondary", "AutoClosed"}  # fmt: skip


Condition = tuple[str, str, str, str, str, str, datetime | None, list[JSON]]


def _condition(store: Store, faults: Faults, body: JSON) -> Condition:
    """(state, title, summary, reasonType, context, category, since, recommended actions)."""
    kind = str(body.get("type", "")).lower()
    props = body.get("properties") or {}
    region = normalise_region(body.get("location"))
    outage = outage_start(store, faults, region)
    if outage is not None:
        return (
            "Unavailable",
            "Unavailable: a platform issue is affecting this region",
            f"We're sorry, your resource is unavailable because of a service issue in {region}. "
            "We are working to restore service; no action is needed on your side.",
            "Unplanned",
            "Platform Initiated",
            "Unplanned",
            datetime.fromtimestamp(outage).astimezone(store.now().tzinfo),
            [_action("Check Azure Service Health for updates on the regional incident", None)],
        )
    if kind == SITE_TYPE.lower():
        windows = windows_of(body)
        if props.get("state") == "Stopped":
            return (
                "Unavailable",
                "Stopped",
                "This web app has been stopped by a user and is not serving requests.",
                "Customer Initiated",
                "Customer Initiated",
                "Not Applicable",
                _open_since(windows, "stopped"),
                [_action("Start the web app", "<#Start>")],
            )
        health = (body.get("_meta") or {}).get("health")
        unreachable = missing_database(store, body) if not isinstance(health, dict) else None
        if unreachable:
            return (
                "Degraded",
                "Degraded: your app is failing health checks",
                f"Your web app is failing its health check: it cannot open its database "
                f"{unreachable}.",
                "Unplanned",
                "Customer Initiated",
                "Unplanned",
                None,
                [_action("Check the app's connection strings", None)],
            )
        if isinstance(health, dict):
            state = str(health.get("availabilityState") or "Degraded")
            return (
                state,
                f"{state}: your app is failing health checks",
                str(
                    health.get("summary")
                    or "Your web app is failing its health check on one or more instances."
                ),
                str(health.get("reasonType") or "Unplanned"),
                "Customer Initiated",
                "Unplanned",
                _open_since(windows, "unhealthy"),
                [
                    _action("Review the app's logs and recent deployments", None),
                    _action("Restart the web app", "<#Restart>"),
                ],
            )
    if kind == DB_TYPE.lower():
        refresh_key_access(store, body)
        status = str(props.get("status", "Online"))
        if status in _DB_DOWN:
            summary = (
                "The database cannot be reached because its transparent data encryption key "
                "is inaccessible."
                if status == "Inaccessible"
                else f"The database is {status.lower()} and is not accepting connections."
            )
            return ("Unavailable", f"Database {status}", summary, "Unplanned",
                    "Platform Initiated" if status != "Paused" else "Customer Initiated",
                    "Unplanned", None, [])  # fmt: skip
        if status not in ("Online", "Scaling"):
            return ("Unknown", "Unknown", f"The database is {status.lower()}; its health is not "
                    "known yet.", "Unplanned", "Platform Initiated", "Not Applicable", None, [])  # fmt: skip
    return ("Available", "Available", "There aren't any known Azure platform problems affecting "
            "this resource.", "", "", "", None, [])  # fmt: skip


def _action(text: str, url: str | None) -> JSON:
    return {
        "action": text,
        "actionUrl": url,
        "actionUrlText": text.split(" ", 1)[0] if url else None,
    }


def _open_since(windows: list[JSON], condition: str) -> datetime | None:
    for window in reversed(windows):
        if window["condition"] == condition and window.get("end") is None:
            return parse_time(window["start"])
    return None


def _recently_resolved(body: JSON, now: datetime) -> JSON | None:
    windows = windows_of(body)
    closed = [w for w in windows if w.get("end")]
    if not closed:
        return None
    last = max(closed, key=lambda w: str(w["end"]))
    ended = parse_time(last["end"])
    if now - ended > RECENT:
        return None
    return {
        "unavailableOccuredTime": isoformat(parse_time(last["start"])),
        "resolvedTime": isoformat(ended),
        "unavailableSummary": "The web app was stopped"
        if last["condition"] == "stopped"
        else "The web app was failing its health checks",
    }


def status_body(
    req: ArmRequest, body: JSON, expand: bool, condition: Condition | None = None
) -> JSON:
    now = req.store.now()
    state, title, summary, reason, context, category, since, actions = condition or _condition(
        req.store, req.emulator.faults, body
    )
    created = (body.get("_meta") or {}).get("created") or (body.get("properties") or {}).get(
        "creationDate"
    )
    properties: JSON = {
        "availabilityState": state,
        "title": title,
        "summary": summary,
        "detailedStatus": "" if state == "Available" else summary,
        "reasonType": reason,
        "context": context,
        "category": category,
        "reasonChronicity": "Persistent" if state != "Available" else "Transient",
        "occuredTime": isoformat(since) if since else (created or isoformat(now)),
        "reportedTime": isoformat(now),
    }
    if state != "Available":
        properties["rootCauseAttributionTime"] = isoformat(since or now)
    resolved = _recently_resolved(body, now) if state == "Available" else None
    if resolved:
        properties["recentlyResolved"] = resolved
    if expand:
        properties["recommendedActions"] = actions
    return {
        "id": f"{body['id']}{SUFFIX}/current",
        "name": "current",
        "type": STATUS_TYPE,
        "location": normalise_region(body.get("location")),
        "properties": properties,
    }


def _expand(req: ArmRequest) -> bool:
    return "recommendedactions" in (req.arg("$expand") or "").lower()


def _covered(store: Store, scope: str) -> list[JSON]:
    found: list[JSON] = []
    for kind in (SITE_TYPE, PLAN_TYPE, DB_TYPE, POOL_TYPE):
        found.extend(store.of_type(kind, scope))
    # master is a system database: Resource Health has nothing to say about it.
    found = [b for b in found if not str(b["id"]).lower().endswith("/databases/master")]
    return sorted(found, key=lambda b: str(b["id"]).lower())


# Filtered lists being paged through: (store, path, filter, expand) -> (store generation,
# emulator time, the matching statuses). A continuation page reads the list the first page
# filtered, as a cursor would, instead of computing every resource's status again.
_CURSORS: dict[tuple[int, str, str, bool], tuple[int, float, list[JSON]]] = {}
_CURSOR_SECONDS = 60.0


def _matching(req: ArmRequest, bodies: list[JSON], wanted: str, expand: bool) -> list[JSON]:
    key = (id(req.store), req.path.lower(), wanted, expand)
    now = req.store.now().timestamp()
    cached = _CURSORS.get(key)
    continuing = bool(req.arg("$skiptoken"))
    if (
        continuing
        and cached
        and cached[0] == req.store.generation
        and now - cached[1] < _CURSOR_SECONDS
    ):
        return cached[2]
    matching = []
    for body in bodies:
        condition = _condition(req.store, req.emulator.faults, body)
        if condition[0].lower() == wanted:
            matching.append(status_body(req, body, expand, condition))
    if len(_CURSORS) > 32:
        _CURSORS.clear()
    _CURSORS[key] = (req.store.generation, now, matching)
    return matching


def _listed(req: ArmRequest, bodies: list[JSON]) -> Response:
    """One page of statuses. Honours the one ``$filter`` shape the docs show,
    ``availabilityState eq 'X'``; without a filter only the page's statuses are computed."""
    expand = _expand(req)
    raw = (req.arg("$filter") or "").strip()
    if raw:
        parts = raw.split()
        if not (
            len(parts) == 3 and parts[0].lower() == "availabilitystate" and parts[1].lower() == "eq"
        ):
            raise ArmError(400, "InvalidFilter", f"The filter '{raw}' is not supported.")
        wanted = parts[2].strip("'\"").lower()
        return page(req, _matching(req, bodies, wanted, expand), page_size=PAGE_SIZE)
    raw_offset = req.arg("$skiptoken") or "0"
    offset = int(raw_offset) if raw_offset.isdigit() else 0
    # page() only looks at the slice it returns; the statuses outside it are never built.
    window = [
        status_body(req, b, expand) if offset <= i < offset + PAGE_SIZE else b
        for i, b in enumerate(bodies)
    ]
    return page(req, window, page_size=PAGE_SIZE)


router = Router()


def _route(template: str, operation: str) -> Callable[[Handler], Handler]:
    return router.route("GET", template, operation, outage_exempt=True)


@_route(
    "/subscriptions/{subscription}" + SUFFIX, "health.availability_statuses.list_by_subscription_id"
)
def statuses_by_subscription(req: ArmRequest) -> Response:
    scope = f"/subscriptions/{req.params['subscription']}"
    return _listed(req, _covered(req.store, scope))


@_route(
    "/subscriptions/{subscription}/resourceGroups/{group}" + SUFFIX,
    "health.availability_statuses.list_by_resource_group",
)
def statuses_by_group(req: ArmRequest) -> Response:
    p = req.params
    scope = f"/subscriptions/{p['subscription']}/resourceGroups/{p['group']}"
    return _listed(req, _covered(req.store, scope))


def _resource(req: ArmRequest) -> JSON:
    resource_id = "/" + req.params["resource"].strip("/")
    body = req.store.get(resource_id)
    if body is None:
        raise not_found(resource_id.rsplit("/", 2)[-2], resource_id.rsplit("/", 1)[-1])
    if str(body.get("type", "")).lower() not in COVERED:
        raise ArmError(
            400,
            "UnsupportedResourceType",
            f"Resource Health does not support resources of type '{body.get('type')}'.",
        )
    return body


@_route("/{resource:path}" + SUFFIX + "/current", "health.availability_statuses.get_by_resource")
def status_current(req: ArmRequest) -> Response:
    return respond(status_body(req, _resource(req), _expand(req)))


@_route("/{resource:path}" + SUFFIX, "health.availability_statuses.list")
def status_history(req: ArmRequest) -> Response:
    """The current status followed by the resource's past (closed) stopped/unhealthy spells."""
    body = _resource(req)
    current = status_body(req, body, _expand(req))
    history = [current]
    for window in reversed(windows_of(body)):
        if not window.get("end"):
            continue
        stopped = window["condition"] == "stopped"
        history.append(
            {
                "id": f"{body['id']}{SUFFIX}/{window['start']}",
                "name": window["start"],
                "type": STATUS_TYPE,
                "location": current["location"],
                "properties": {
                    "availabilityState": "Unavailable" if stopped else "Degraded",
                    "title": "Stopped" if stopped else "Degraded",
                    "summary": "The web app was stopped by a user."
                    if stopped
                    else "The web app was failing its health checks.",
                    "reasonType": "Customer Initiated" if stopped else "Unplanned",
                    "occuredTime": isoformat(parse_time(window["start"])),
                    "reportedTime": isoformat(parse_time(window["end"])),
                },
            }
        )
    return page(req, history, page_size=100)

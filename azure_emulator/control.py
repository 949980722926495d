"""The control API under ``/_emulator/``: fault injection, inspection, reset (README.md lists it).

Protected by the control token from demo.json (``Authorization: Bearer <token>`` or
``X-Emulator-Token``). It is for tests, demos and benchmarks; the portal's production code never
calls it.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from azure_emulator import lro
from azure_emulator.faults import FaultRule, LroFailure
from azure_emulator.plain_routes import PlainRoute, PlainRouter
from azure_emulator.providers import web
from azure_emulator.state import JSON, isoformat

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator


router = PlainRouter()


def routes(emulator: Emulator) -> list[Route]:
    """The control API's Starlette routes, bound to ``emulator``."""
    return router.starlette_routes(_serve, emulator)


def _authorised(emulator: Emulator, request: Request) -> bool:
    token = request.headers.get("x-emulator-token", "")
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        token = authorization[7:].strip()
    return bool(token) and secrets.compare_digest(token, emulator.directory.control_token)


async def _serve(emulator: Emulator, route: PlainRoute, request: Request) -> Response:
    """Check the control token, read the JSON payload, run the handler under the store's lock;
    bad input (a missing or mistyped field) answers 400 with what was wrong."""
    if route.public:
        # Without the lock: the health probe must answer while a save holds it.
        return JSONResponse(route.handler(emulator, {}, request))
    if not _authorised(emulator, request):
        return JSONResponse(
            {"error": {"code": "Unauthorized", "message": "A valid control token is required."}},
            status_code=401,
        )
    try:
        payload: JSON = {}
        if request.method in ("POST", "PUT") and (await request.body()).strip():
            payload = await request.json()
        with emulator.store.lock:
            result = route.handler(emulator, payload, request)
    except (ValueError, KeyError, TypeError) as exc:
        return JSONResponse(
            {"error": {"code": "BadRequest", "message": f"{type(exc).__name__}: {exc}"}},
            status_code=400,
        )
    return result if isinstance(result, Response) else JSONResponse(result)


@router.route("/_emulator/health", public=True)
def health(emulator: Emulator, payload: JSON, request: Request) -> Any:
    # Unauthenticated on purpose: the test harness polls it while the emulator starts.
    return {"ok": True, "tenant_id": emulator.directory.tenant_id}


@router.route("/_emulator/state")
def state(emulator: Emulator, payload: JSON, request: Request) -> Any:
    lro.settle(emulator)
    snapshot = emulator.store.snapshot()
    snapshot["faults"] = emulator.faults.describe()
    snapshot["throttle"] = {
        "sizes": {k: list(v) for k, v in emulator.throttle.sizes.items()},
        "tokens": emulator.throttle.status(),
    }
    snapshot["lro_seconds"] = {"default": emulator.config.lro_seconds, **emulator.lro_overrides}
    snapshot["limits"] = _limits(emulator)
    if request.query_params.get("resources") == "0":
        snapshot.pop("resources")
    return snapshot


@router.route("/_emulator/resource")
def resource(emulator: Emulator, payload: JSON, request: Request) -> Any:
    lro.settle(emulator)
    body = emulator.store.get(request.query_params["id"])
    if body is None:
        return JSONResponse({"error": {"code": "NotFound", "message": "no such resource"}}, 404)
    return body


@router.route("/_emulator/requests")
def requests_log(emulator: Emulator, payload: JSON, request: Request) -> Any:
    return {"requests": list(emulator.requests)}


@router.route("/_emulator/operations")
def operations(emulator: Emulator, payload: JSON, request: Request) -> Any:
    lro.settle(emulator)
    return {
        "operations": sorted(emulator.store.table(lro.TABLE).values(), key=lambda r: r["started"])
    }


@router.route("/_emulator/operation-names")
def operation_names(emulator: Emulator, payload: JSON, request: Request) -> Any:
    return {
        "arm": emulator.arm_routes.operations(),
        "keyvault": emulator.keyvault_routes.operations(),
    }


@router.route("/_emulator/reset", methods=["POST"])
def reset(emulator: Emulator, payload: JSON, request: Request) -> Any:
    emulator.reseed(payload.get("fleet_size"), payload.get("seed"))
    emulator.write_demo_json()
    return {"ok": True, "fleet_size": emulator.config.fleet_size, "seed": emulator.config.seed}


@router.route("/_emulator/faults", methods=["DELETE"])
def clear_faults(emulator: Emulator, payload: JSON, request: Request) -> Any:
    emulator.faults.clear()
    return emulator.faults.describe()


@router.route("/_emulator/faults/latency", methods=["POST"])
def latency(emulator: Emulator, payload: JSON, request: Request) -> Any:
    pattern = str(payload.get("operation", "*"))
    ms = float(payload["ms"])
    if ms <= 0:
        emulator.faults.latency_ms.pop(pattern, None)
    else:
        emulator.faults.latency_ms[pattern] = ms
    return emulator.faults.describe()


def _rule(payload: JSON, **extra: Any) -> FaultRule:
    defaults = FaultRule(operation=str(payload.get("operation", "*")))
    return FaultRule(
        operation=defaults.operation,
        status=int(payload.get("status", defaults.status)),
        code=str(payload.get("code", defaults.code)),
        message=str(payload.get("message", defaults.message)),
        retry_after=payload.get("retry_after"),
        **extra,
    )


@router.route("/_emulator/faults/error-rate", methods=["POST"])
def error_rate(emulator: Emulator, payload: JSON, request: Request) -> Any:
    rate = float(payload["rate"])
    if not 0 <= rate <= 1:
        raise ValueError("rate must be between 0 and 1")
    operation = str(payload.get("operation", "*"))
    emulator.faults.rules = [
        r for r in emulator.faults.rules if not (r.remaining is None and r.operation == operation)
    ]
    if rate > 0:
        emulator.faults.rules.append(_rule(payload, rate=rate))
    return emulator.faults.describe()


@router.route("/_emulator/faults/fail-next", methods=["POST"])
def fail_next(emulator: Emulator, payload: JSON, request: Request) -> Any:
    count = int(payload.get("count", 1))
    if "operation" not in payload:
        raise KeyError("operation")
    # Fail-next rules go first so they fire before any background error rate.
    skip = int(payload.get("after", 0))
    emulator.faults.rules.insert(0, _rule(payload, remaining=count, skip=skip))
    return emulator.faults.describe()


@router.route("/_emulator/faults/fail-lro", methods=["POST"])
def fail_lro(emulator: Emulator, payload: JSON, request: Request) -> Any:
    emulator.faults.lro_failures.append(
        LroFailure(
            operation=str(payload["operation"]),
            code=str(payload.get("code", "InternalServerError")),
            message=str(payload.get("message", "The operation failed (injected).")),
            remaining=int(payload.get("count", 1)),
        )
    )
    return emulator.faults.describe()


@router.route("/_emulator/keyvault/vault", methods=["POST"])
def vault(emulator: Emulator, payload: JSON, request: Request) -> Any:
    # A vault whose purge protection is off (Azure cannot turn it off once on; tests need
    # the vault TDE refuses).
    from azure_emulator.providers import keyvault_store as keyvault

    keyvault.set_purge_protection(emulator.store, bool(payload["purge_protection"]))
    return {"purge_protection": keyvault.purge_protection(emulator.store)}


@router.route("/_emulator/faults/outage", methods=["POST"])
def outage(emulator: Emulator, payload: JSON, request: Request) -> Any:
    region = str(payload.get("region", "australiaeast")).replace(" ", "").lower()
    if payload.get("active", True):
        emulator.faults.outages.add(region)
        emulator.faults.outage_started.setdefault(region, emulator.store.now())
    else:
        emulator.faults.outages.discard(region)
        emulator.faults.outage_started.pop(region, None)
    return emulator.faults.describe()


@router.route("/_emulator/throttle", methods=["POST"])
def throttle(emulator: Emulator, payload: JSON, request: Request) -> Any:
    for kind in ("reads", "writes", "deletes"):
        if kind in payload:
            spec = payload[kind]
            emulator.throttle.configure(kind, float(spec["size"]), float(spec["refill_per_second"]))
    if payload.get("reset"):
        emulator.throttle.reset()
    return {"sizes": {k: list(v) for k, v in emulator.throttle.sizes.items()}}


@router.route("/_emulator/limits", methods=["POST"])
def limits(emulator: Emulator, payload: JSON, request: Request) -> Any:
    if "restores_per_pool" in payload:
        emulator.config.max_restores_per_pool = int(payload["restores_per_pool"])
    if "restores_per_subscription" in payload:
        emulator.config.max_restores_per_subscription = int(payload["restores_per_subscription"])
    if "restore_submissions_per_pool" in payload:
        emulator.config.max_restore_submissions_per_pool = int(
            payload["restore_submissions_per_pool"]
        )
    if "restore_submissions_per_subscription" in payload:
        emulator.config.max_restore_submissions_per_subscription = int(
            payload["restore_submissions_per_subscription"]
        )
    return _limits(emulator)


@router.route("/_emulator/lro", methods=["POST"])
def lro_seconds(emulator: Emulator, payload: JSON, request: Request) -> Any:
    seconds = float(payload["seconds"])
    operation = payload.get("operation")
    if operation:
        emulator.lro_overrides[str(operation)] = seconds
    else:
        emulator.config.lro_seconds = seconds
    return {"default": emulator.config.lro_seconds, **emulator.lro_overrides}


@router.route("/_emulator/clock", methods=["POST"])
def clock(emulator: Emulator, payload: JSON, request: Request) -> Any:
    if "offset_seconds" in payload:
        emulator.store.clock_offset = float(payload["offset_seconds"])
    elif "advance_seconds" in payload:
        emulator.store.clock_offset += float(payload["advance_seconds"])
    emulator.store.touch()
    return {
        "offset_seconds": emulator.store.clock_offset,
        "now": emulator.store.now().isoformat(),
    }


@router.route("/_emulator/identity/rotate-signing-key", methods=["POST"])
def rotate_signing_key(emulator: Emulator, payload: JSON, request: Request) -> Any:
    kid = emulator.identity.rotate_signing_key()
    return {"kid": kid, "kids": [k["kid"] for k in emulator.identity.jwks()["keys"]]}


@router.route("/_emulator/save", methods=["POST"])
def save(emulator: Emulator, payload: JSON, request: Request) -> Any:
    emulator.store.save()
    return {"ok": True}


@router.route("/_emulator/sites/state", methods=["POST"])
def site_state(emulator: Emulator, payload: JSON, request: Request) -> Any:
    """Something outside the portal stops or starts an app, or breaks or heals it."""
    site = emulator.store.get(str(payload["site_id"]))
    if site is None:
        raise KeyError(f"no site {payload['site_id']}")
    now = isoformat(emulator.store.now())
    state = payload.get("state")
    if state == "Stopped" and site["properties"]["state"] != "Stopped":
        web.open_window(site, "stopped", now)
    elif state == "Running" and site["properties"]["state"] != "Running":
        web.close_window(site, "stopped", now)
    elif state not in (None, "Stopped", "Running"):
        raise ValueError("state must be Stopped or Running")
    if state:
        site["properties"]["state"] = state
    if "healthy" in payload:
        web.set_health(site, bool(payload["healthy"]), now, payload.get("summary"))
    emulator.store.touch()
    return {"state": site["properties"]["state"], "healthy": not web.is_unhealthy(site)}


def _limits(emulator: Emulator) -> dict[str, int]:
    config = emulator.config
    return {
        "restores_per_pool": config.max_restores_per_pool,
        "restores_per_subscription": config.max_restores_per_subscription,
        "restore_submissions_per_pool": config.max_restore_submissions_per_pool,
        "restore_submissions_per_subscription": config.max_restore_submissions_per_subscription,
    }

"""The running emulator: configuration, state, identity, faults, and the ASGI entry point.

One process serves two ports. The main port carries identity (``/{tenant}/...``), ARM, batch
metrics and the control API (``/_emulator/...``); the Key Vault port carries the vault's data
plane, because the Key Vault SDK identifies a vault by host and port (docs/azure-behaviours.md §4.4).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import importlib
import json
import logging
import pkgutil
import re
import time
import uuid
from collections import deque
from collections.abc import Callable
from types import ModuleType
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Router as StarletteRouter
from starlette.types import Receive, Scope, Send

from azure_emulator import control, directory, identity, identity_routes, lro, seed
from azure_emulator.arm import ARM_AUDIENCE, ArmRequest, Route, Router, RouteTable, normalise_region
from azure_emulator.config import EmulatorConfig
from azure_emulator.errors import ArmError
from azure_emulator.faults import Faults
from azure_emulator.state import JSON, Store, isoformat
from azure_emulator.throttle import Throttle

log = logging.getLogger("azure_emulator")

_IDENTITY_PATH = re.compile(r"^/[^/]+/(v2\.0/\.well-known|\.well-known|discovery|oauth2)/", re.I)
DEMO_FILE = "demo.json"
FLUSH_SECONDS = 0.5
FLUSH_PAUSE_RATIO = 30


def provider_modules() -> list[ModuleType]:
    """Every module in ``azure_emulator.providers`` (auto-discovered: adding a file plugs it in)."""
    from azure_emulator import providers

    modules = []
    for info in sorted(pkgutil.iter_modules(providers.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            modules.append(importlib.import_module(f"azure_emulator.providers.{info.name}"))
    return modules


class Emulator:
    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.store = Store(config.state_dir)
        self.directory = directory.load_or_create(config.state_dir, config.seed)
        self.identity = identity.Identity(self)
        self.faults = Faults(seed=config.seed)
        self.throttle = Throttle(config.buckets)
        self.lro_overrides: dict[str, float] = {}
        self.requests: deque[JSON] = deque(maxlen=5000)
        self.modules = provider_modules()
        arm_routers: list[Router] = [lro.router]
        kv_routers: list[Router] = []
        for module in self.modules:
            if isinstance(getattr(module, "router", None), Router):
                arm_routers.append(module.router)
            if isinstance(getattr(module, "keyvault_router", None), Router):
                kv_routers.append(module.keyvault_router)
        self.arm_routes = RouteTable(arm_routers)
        self.keyvault_routes = RouteTable(kv_routers)
        self.identity_app = StarletteRouter(routes=identity_routes.routes(self))
        self.control_app = StarletteRouter(routes=control.routes(self))
        self._flush_task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the saved state, or seed a fresh fleet; then (re)write demo.json."""
        if not self.store.load():
            self.reseed()
        self.write_demo_json()

    def reseed(self, fleet_size: int | None = None, seed_value: int | None = None) -> None:
        if fleet_size is not None:
            self.config.fleet_size = fleet_size
        if seed_value is not None:
            self.config.seed = seed_value
        fresh = Store(self.config.state_dir)
        seed.seed_fleet(fresh, self.config, self.directory, hooks=self._seed_hooks())
        self.store.replace(fresh)
        self.faults.clear()
        self.throttle.reset()
        self.lro_overrides.clear()
        self.config.reset_limits()
        self.requests.clear()
        self._assign_account_manager()
        self.store.save()

    def _seed_hooks(self) -> list[Callable[..., None]]:
        return [m.seed_hook for m in self.modules if callable(getattr(m, "seed_hook", None))]

    def _assign_account_manager(self) -> None:
        slugs = [t["slug"] for t in self.store.info.get("fleet", {}).get("tenants", [])]
        for person in self.directory.people:
            if "Portal.AccountManager" in person.roles:
                # A handful of tenants, spread over the fleet so they span pools and servers.
                step = max(1, len(slugs) // 4)
                person.tenants = slugs[::step][:4]
        directory.save(self.config.state_dir, self.directory)

    def write_demo_json(self) -> None:
        cfg = self.config
        info = self.store.info
        tid = self.directory.tenant_id
        demo = {
            "tenant_id": tid,
            "authority": f"{cfg.arm_base}/{tid}",
            "authority_host": cfg.arm_base,
            "arm_endpoint": cfg.arm_base,
            "metrics_endpoint": cfg.arm_base,
            "keyvault_url": cfg.keyvault_base,
            "client_id": self.directory.client_id,
            "client_secret": self.directory.client_secret,
            "app_roles": list(directory.APP_ROLES),
            # The portal's JSON API: its App ID URI and the automation apps allowed to call it.
            "api": {
                "app_id_uri": f"api://{self.directory.client_id}",
                "scopes": list(directory.API_SCOPES),
                "app_roles": list(directory.API_APP_ROLES),
                "clients": [
                    {
                        "name": app.name,
                        "client_id": app.client_id,
                        "client_secret": app.client_secret,
                        "roles": app.api_roles,
                    }
                    for app in self.directory.client_apps
                ],
            },
            "subscription_ids": [s["subscription_id"] for s in info.get("subscriptions", [])],
            "ca_bundle": str((cfg.state_dir / "ca.pem").resolve()),
            "control_url": f"{cfg.arm_base}/_emulator",
            "control_token": self.directory.control_token,
            "people": [
                {
                    "oid": p.oid,
                    "name": p.name,
                    "preferred_username": p.preferred_username,
                    "roles": p.roles,
                    "title": p.title,
                    "tenants": p.tenants,
                }
                for p in self.directory.people
            ],
            "seed": info.get("seed"),
            "fleet": info.get("fleet", {}),
        }
        path = cfg.state_dir / DEMO_FILE
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(demo, indent=2), encoding="utf-8")
        tmp.chmod(0o600)  # it holds the client secret and the control token
        tmp.replace(path)

    def lro_seconds(self, operation: str) -> float:
        for pattern, seconds in self.lro_overrides.items():
            if fnmatch.fnmatchcase(operation, pattern):
                return seconds
        return self.config.lro_seconds

    async def _flush_loop(self) -> None:
        # Debounced persistence: many changes in a burst cost one write. A big fleet's state
        # takes a while to serialise (under the store lock, so requests wait meanwhile): the
        # pause grows with it, keeping saves to a few per cent of the emulator's time (with a
        # pause of five times a save, a failover of 600 tenants spent a sixth of it saving).
        pause = FLUSH_SECONDS
        while True:
            await asyncio.sleep(pause)
            if self.store.dirty:
                started = time.monotonic()
                try:
                    await asyncio.to_thread(self.store.save)
                except OSError:
                    log.exception("could not save emulator state")
                pause = max(FLUSH_SECONDS, FLUSH_PAUSE_RATIO * (time.monotonic() - started))

    # -- ASGI -----------------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        server = scope.get("server") or ("", 0)
        path: str = scope["path"]
        if server[1] == self.config.keyvault_port:
            response = await self._dispatch(
                Request(scope, receive), self.keyvault_routes, "keyvault"
            )
        elif path.startswith("/_emulator/") or path == "/_emulator":
            await self.control_app(scope, receive, send)
            return
        elif _IDENTITY_PATH.match(path):
            await self.identity_app(scope, receive, send)
            return
        else:
            response = await self._dispatch(Request(scope, receive), self.arm_routes, "arm")
        await response(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._flush_task = asyncio.create_task(self._flush_loop())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._flush_task is not None:
                    self._flush_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await self._flush_task
                self.store.save()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _dispatch(self, request: Request, table: RouteTable, host: str) -> Response:
        started = time.monotonic()
        method = request.method.upper()
        path = request.scope["path"]
        request_id = str(uuid.uuid4())
        headers = {
            "x-ms-request-id": request_id,
            "x-ms-correlation-request-id": request.headers.get("x-ms-correlation-request-id")
            or request_id,
        }
        matched = table.match(method, path)
        route = matched[0] if matched else None
        operation = route.operation if route else "unknown"
        subscription = _subscription_of(path)
        try:
            lro.settle(self)
            claims = self._authenticate(request, route, host)
            if route is None:
                raise ArmError(
                    404,
                    "EmulatorRouteNotFound" if host == "arm" else "NotFound",
                    f"The emulator does not implement {method} {path}.",
                )
            delay = self.faults.latency_for(operation)
            if delay:
                await asyncio.sleep(delay)
            if host == "arm" and route.throttle not in (None, "none"):
                headers.update(self._spend(subscription, str(route.throttle), claims))
            if not route.outage_exempt:
                self._check_outage(path)
            injected = self.faults.injected_error(operation)
            if injected is not None:
                raise injected
            req = ArmRequest(
                emulator=self,
                method=method,
                path=path,
                params=matched[1] if matched else {},
                query=dict(request.query_params),
                headers=request.headers,
                raw_body=await request.body(),
                operation=operation,
                base_url=f"{request.url.scheme}://{request.url.netloc}",
                claims=claims,
            )
            with self.store.lock:
                result = route.handler(req)
            response = await result if asyncio.iscoroutine(result) else result
            assert isinstance(response, Response)  # noqa: S101 - handler contract
        except ArmError as exc:
            response = exc.response()
        except Exception:
            log.exception("%s %s failed", method, path)
            response = ArmError(
                500, "InternalServerError", "The emulator hit an internal error; see its log."
            ).response()
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        self.requests.append(
            {
                "time": isoformat(self.store.now()),
                "host": host,
                "method": method,
                "path": path,
                "operation": operation,
                "status": response.status_code,
                "subscription": subscription,
                "ms": round((time.monotonic() - started) * 1000, 1),
            }
        )
        return response

    def _authenticate(self, request: Request, route: Route | None, host: str) -> dict[str, Any]:
        authorization = request.headers.get("authorization")
        if host == "keyvault":
            challenge = (
                f'Bearer authorization="{self.identity.authority}", '
                f'resource="{identity_resource()}"'
            )
            if not authorization:
                raise ArmError(
                    401,
                    "Unauthorized",
                    "AKV10000: Request is missing a Bearer or PoP token.",
                    headers={"WWW-Authenticate": challenge},
                )
            audience = route.audience if route else "https://vault.azure.net"
            try:
                return self.identity.verify_access_token(authorization, audience)
            except identity.TokenError as exc:
                raise ArmError(
                    401,
                    "Unauthorized",
                    f"AKV10022: {exc.message}",
                    headers={"WWW-Authenticate": challenge},
                ) from exc
        audience = route.audience if route else ARM_AUDIENCE
        try:
            return self.identity.verify_access_token(authorization, audience)
        except identity.TokenError as exc:
            raise ArmError(
                401,
                exc.code,
                exc.message,
                headers={
                    "WWW-Authenticate": f'Bearer authorization_uri="{self.identity.authority}", '
                    f'error="invalid_token", error_description="{exc.message}"'
                },
            ) from exc

    def _spend(self, subscription: str | None, kind: str, claims: dict[str, Any]) -> dict[str, str]:
        scope = f"subscription:{subscription}" if subscription else "tenant"
        allowed, remaining, wait = self.throttle.take(scope, kind)
        header = f"x-ms-ratelimit-remaining-{'subscription' if subscription else 'tenant'}-{kind}"
        if not allowed:
            actor = claims.get("oid", "unknown")
            raise ArmError(
                429,
                "SubscriptionRequestsThrottled" if subscription else "TenantRequestsThrottled",
                f"Number of '{kind[:-1]}' requests for subscription '{subscription}' actor "
                f"'{actor}' exceeded. Please try again after '{wait}' seconds after additional "
                "tokens are available. Refer to https://aka.ms/arm-throttling for additional "
                "information.",
                retry_after=wait,
                headers={header: "0"},
            )
        return {header: str(remaining)}

    def _check_outage(self, path: str) -> None:
        if not self.faults.outages:
            return
        location = self.location_of(path)
        if location and self.faults.region_down(location):
            raise ArmError(
                503,
                "ServiceUnavailable",
                f"The service is temporarily unavailable in region '{location}'. "
                "Please try again later.",
                retry_after=1,
            )

    def location_of(self, path: str) -> str | None:
        """The region of the deepest stored resource the path lies under (None if none)."""
        parts = [p for p in path.split("/") if p]
        for end in range(len(parts), 1, -1):
            body = self.store.get("/" + "/".join(parts[:end]))
            if body is not None and body.get("location"):
                return normalise_region(str(body["location"]))
        return None


def identity_resource() -> str:
    return "https://vault.azure.net"


def _subscription_of(path: str) -> str | None:
    parts = path.split("/")
    if len(parts) > 2 and parts[1].lower() == "subscriptions":
        return parts[2].lower()
    return None

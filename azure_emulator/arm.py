"""ARM plumbing shared by every provider module: routing, requests, responses and paging.

A provider module declares routes on a :class:`Router`::

    router = Router()

    @router.route("GET", SERVER + "/databases/{database}", "databases.get")
    def database_get(req: ArmRequest) -> Response: ...

Path templates are matched case-insensitively against the percent-decoded path (ARM ids are
case-insensitive and the SDKs encode ``;``, ``,`` and parentheses). ``{name}`` matches one
segment, ``{name:path}`` one or more. The operation name (``databases.get``) is what throttling,
fault injection and the request log refer to.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlencode

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response

from azure_emulator.errors import bad_request, not_found
from azure_emulator.state import JSON, Store, public

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

ThrottleKind = Literal["reads", "writes", "deletes", "none"]
Handler = Callable[["ArmRequest"], Response | Awaitable[Response]]

# Audiences the emulator's tokens are checked against (docs/azure-behaviours.md §0.2, §4.4, §6.2).
ARM_AUDIENCE = "https://management.azure.com"
KEYVAULT_AUDIENCE = "https://vault.azure.net"
METRICS_AUDIENCE = "https://metrics.monitor.azure.com"

_PARAM = re.compile(r"\{(\w+)(?::(path))?\}")


@dataclass
class Route:
    method: str
    template: str
    operation: str
    handler: Handler
    throttle: ThrottleKind | None = None
    audience: str = ARM_AUDIENCE
    outage_exempt: bool = False
    pattern: re.Pattern[str] = field(init=False)
    literal_segments: int = field(init=False)
    has_path_param: bool = field(init=False)

    def __post_init__(self) -> None:
        regex = ""
        position = 0
        for match in _PARAM.finditer(self.template):
            regex += re.escape(self.template[position : match.start()])
            segment = ".+" if match.group(2) == "path" else "[^/]+"
            regex += f"(?P<{match.group(1)}>{segment})"
            position = match.end()
        regex += re.escape(self.template[position:])
        self.pattern = re.compile(f"^{regex}/?$", re.IGNORECASE)
        segments = [s for s in self.template.split("/") if s]
        self.literal_segments = sum(1 for s in segments if not _PARAM.fullmatch(s))
        self.has_path_param = any(m.group(2) == "path" for m in _PARAM.finditer(self.template))
        if self.throttle is None:
            defaults: dict[str, ThrottleKind] = {
                "GET": "reads",
                "HEAD": "reads",
                "DELETE": "deletes",
            }
            self.throttle = defaults.get(self.method, "writes")


class Router:
    """A provider's routes; :class:`RouteTable` merges all routers of one host."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def route(
        self,
        method: str,
        template: str,
        operation: str,
        *,
        throttle: ThrottleKind | None = None,
        audience: str = ARM_AUDIENCE,
        outage_exempt: bool = False,
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.routes.append(
                Route(
                    method.upper(),
                    template,
                    operation,
                    handler,
                    throttle=throttle,
                    audience=audience,
                    outage_exempt=outage_exempt,
                )
            )
            return handler

        return register


class RouteTable:
    """All routes of one host, most specific first (literal segments beat parameters)."""

    def __init__(self, routers: Iterable[Router]) -> None:
        routes = [r for router in routers for r in router.routes]
        self.routes = sorted(routes, key=lambda r: (r.has_path_param, -r.literal_segments))
        names: dict[tuple[str, str], str] = {}
        for r in self.routes:
            previous = names.setdefault((r.method, r.template.lower()), r.operation)
            if previous != r.operation:
                raise ValueError(f"{r.method} {r.template} registered twice")

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for r in self.routes:
            if r.method != method:
                continue
            m = r.pattern.match(path)
            if m is not None:
                return r, m.groupdict()
        return None

    def operations(self) -> list[str]:
        return sorted({r.operation for r in self.routes})


class ArmRequest:
    """What a handler sees: route parameters, query, JSON body, and the emulator around it."""

    def __init__(
        self,
        *,
        emulator: Emulator,
        method: str,
        path: str,
        params: dict[str, str],
        query: dict[str, str],
        headers: Headers,
        raw_body: bytes,
        operation: str,
        base_url: str,
        claims: dict[str, Any],
    ) -> None:
        self.emulator = emulator
        self.method = method
        self.path = path
        self.params = params
        # Query names are case-insensitive in ARM ($skipToken vs $skiptoken).
        self.query = {k.lower(): v for k, v in query.items()}
        self.headers = headers
        self.raw_body = raw_body
        self.operation = operation
        self.base_url = base_url.rstrip("/")
        self.claims = claims

    @property
    def store(self) -> Store:
        return self.emulator.store

    def arg(self, name: str) -> str | None:
        """A query parameter by case-insensitive name (``$filter``, ``api-version``...)."""
        return self.query.get(name.lower())

    @property
    def api_version(self) -> str:
        return self.query.get("api-version", "")

    def json(self) -> JSON:
        """The request body as a JSON object (400 ``InvalidRequestContent`` otherwise)."""
        if not self.raw_body.strip():
            return {}
        try:
            body = json.loads(self.raw_body)
        except ValueError as exc:
            raise bad_request(
                "InvalidRequestContent", f"The request content was invalid: {exc}"
            ) from exc
        if not isinstance(body, dict):
            raise bad_request("InvalidRequestContent", "The request content must be an object.")
        return body

    def url(self, path: str, **query: str) -> str:
        """An absolute URL on this host (LRO headers and nextLinks are absolute in ARM)."""
        if "api-version" not in query and self.api_version:
            query["api-version"] = self.api_version
        suffix = "?" + urlencode(query) if query else ""
        return f"{self.base_url}{path}{suffix}"

    def resource(self, resource_id: str, resource_type: str, name: str | None = None) -> JSON:
        """The stored resource or ARM's 404."""
        body = self.store.get(resource_id)
        if body is None:
            raise not_found(resource_type, name or resource_id.rstrip("/").rsplit("/", 1)[-1])
        return body


def respond(
    body: JSON | None, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """A JSON response; emulator-only keys (``_meta``) are stripped from a resource body."""
    if body is None:
        return Response(status_code=status, headers=headers)
    return JSONResponse(public(body), status_code=status, headers=headers)


def page(
    req: ArmRequest,
    items: list[JSON],
    *,
    page_size: int = 200,
    token_name: str = "$skiptoken",  # noqa: S107 - a query parameter name, not a secret
    view: Callable[[list[JSON]], list[JSON]] | None = None,
) -> Response:
    """One page of an ARM list: ``{"value": [...], "nextLink": ...}`` using an offset token.

    ``view`` turns stored bodies into what the API returns for the page's items only (a list of
    4,000 sites is asked for 40 times, a page at a time: shaping every item each time would
    cost 40 times the work)."""
    raw_offset = req.arg(token_name) or "0"
    try:
        offset = max(0, int(raw_offset))
    except ValueError as exc:
        raise bad_request("InvalidSkipToken", f"The skip token '{raw_offset}' is invalid.") from exc
    chunk = items[offset : offset + page_size]
    if view is not None:
        chunk = view(chunk)
    body: JSON = {"value": [public(item) for item in chunk]}
    if offset + page_size < len(items):
        query = {k: v for k, v in req.query.items() if k != token_name.lower()}
        query[token_name] = str(offset + page_size)
        body["nextLink"] = f"{req.base_url}{req.path}?{urlencode(query)}"
    return JSONResponse(body)


def split_id(resource_id: str) -> dict[str, str]:
    """The named parts of an ARM id: subscription, resourceGroup, provider and type/name pairs.

    Keys are lower-cased type segments (``servers``, ``databases``) mapped to names as written.
    """
    parts = [p for p in resource_id.split("/") if p]
    found: dict[str, str] = {}
    i = 0
    while i + 1 < len(parts):
        label = parts[i].lower()
        if label == "providers":
            found["provider"] = parts[i + 1]
        else:
            found[label] = parts[i + 1]
        i += 2
    return found


def normalise_region(location: str | None) -> str:
    """``Australia East`` and ``australiaeast`` are the same ARM location."""
    return (location or "").replace(" ", "").lower()

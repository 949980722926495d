"""Fleet-sized reads as plain JSON through the SDK client's own pipeline.

The management SDKs turn every item of a list into a model object, recursively, before we copy
the handful of fields we keep into our dataclasses. For one resource that costs nothing; for the
fleet refresh's lists (4,000 sites in a subscription, every database of a server, 50 resources'
metric series per batch) it was most of the refresh's CPU time. `send_request` runs the same
pipeline as the SDK's operations — credential, retry policy honouring Retry-After, timeouts,
the call meter's response hook — and hands back the JSON, which we read directly.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceExistsError,
    ResourceNotFoundError,
    map_error,
)
from azure.core.rest import HttpRequest, HttpResponse
from azure.mgmt.core.exceptions import ARMErrorFormat

# The SDK operations' own error map: our errors.translate tells these apart.
_ERRORS: dict[int, type[HttpResponseError]] = {
    401: ClientAuthenticationError,
    404: ResourceNotFoundError,
    409: ResourceExistsError,
}


class Sends(Protocol):
    def send_request(
        self, request: HttpRequest, *, stream: bool = ..., **kwargs: Any
    ) -> HttpResponse: ...


def send_json(client: Sends, request: HttpRequest) -> Any:
    """The JSON answer of one request; an HttpResponseError (as the SDK raises it) otherwise."""
    response = client.send_request(request)
    if response.status_code != 200:
        map_error(status_code=response.status_code, response=response, error_map=_ERRORS)
        raise HttpResponseError(response=response, error_format=ARMErrorFormat)
    return response.json()


def list_json(client: Sends, path: str, *, api_version: str) -> list[dict[str, Any]]:
    """Every item of an ARM list (`value`), following `nextLink` to the end."""
    items: list[dict[str, Any]] = []
    request = HttpRequest("GET", path, params={"api-version": api_version})
    while True:
        body = send_json(client, request)
        items.extend(body.get("value") or [])
        link = body.get("nextLink")
        if not link:
            return items
        # ARM's nextLink carries the api-version and the continuation token already.
        request = HttpRequest("GET", link)


def parse_time(text: Any) -> datetime | None:
    """An ARM timestamp (ISO 8601; `Z` or an offset; up to 7 fractional digits) in UTC."""
    if not text:
        return None
    value = str(text).strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "." in value:
        # Python reads at most 6 fractional digits; .NET writes 7.
        head, _, rest = value.partition(".")
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction = rest[:digits][:6]
        value = f"{head}.{fraction}{rest[digits:]}" if fraction else f"{head}{rest[digits:]}"
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

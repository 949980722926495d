"""RFC 9457 problem details: every error the API answers is `application/problem+json` with
type, title, status and detail, and `errors: [{field, message}]` when input was at fault."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse

PROBLEM_TYPE = "urn:fleetwise:api:problem:"
TITLES = {
    400: "Bad request",
    401: "Not authenticated",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Invalid input",
    500: "Server error",
}


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class Problem(Exception):
    """An error the API answers with; `kind` is the last part of its `type` URI (docs/api.md)."""

    status: int
    kind: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.detail


def problem_response(request: HttpRequest, problem: Problem) -> HttpResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE + problem.kind,
        "title": TITLES.get(problem.status, "Error"),
        "status": problem.status,
        "detail": problem.detail,
        "instance": request.path,
        "request_id": getattr(request, "request_id", ""),
    }
    if problem.errors:
        body["errors"] = [{"field": e.field, "message": e.message} for e in problem.errors]
    body.update(problem.extra)
    response = HttpResponse(
        json.dumps(body, cls=DjangoJSONEncoder),
        status=problem.status,
        content_type="application/problem+json",
    )
    for name, value in problem.headers.items():
        response[name] = value
    return response


def field_of(location: list[Any] | tuple[Any, ...]) -> str:
    """Pydantic's error location as the field a caller sent: ("body", "payload", "when") →
    "when"; ("query", "limit") → "limit"; the whole body missing → "body"."""
    parts = [str(part) for part in location]
    if parts and parts[0] == "body":
        parts = parts[2:] or ["body"]
    elif parts and parts[0] in ("query", "path", "header"):
        parts = parts[1:]
    return ".".join(parts) or "body"

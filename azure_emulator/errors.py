"""ARM's error body and the exception handlers raise to produce it."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse


class ArmError(Exception):
    """An error answered in ARM's shape: ``{"error": {"code", "message", "target", "details"}}``.

    ``retry_after`` is only for statuses clients should retry (429, 503): azure-core retries *any*
    status >= 400 that carries ``Retry-After`` (docs/azure-behaviours.md §0.4), so a 4xx must never carry it.
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        target: str | None = None,
        details: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"({code}) {message}")
        self.status = status
        self.code = code
        self.message = message
        self.target = target
        self.details = details or []
        self.retry_after = retry_after
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "target": self.target,
                "details": self.details,
            }
        }

    def as_dict(self) -> dict[str, Any]:
        """The inner ``error`` object, e.g. for an LRO status body."""
        inner: dict[str, Any] = self.body()["error"]
        return inner

    def response(self) -> JSONResponse:
        headers = dict(self.headers)
        if self.retry_after is not None and self.status in (429, 503):
            headers["Retry-After"] = str(self.retry_after)
        return JSONResponse(self.body(), status_code=self.status, headers=headers)


def not_found(resource_type: str, name: str) -> ArmError:
    """ARM's generic 404 for a missing resource."""
    return ArmError(
        404,
        "ResourceNotFound",
        f"The requested resource of type '{resource_type}' with name '{name}' was not found.",
    )


def bad_request(code: str, message: str, target: str | None = None) -> ArmError:
    return ArmError(400, code, message, target=target)

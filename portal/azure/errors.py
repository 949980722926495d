"""Azure failures translated into the two kinds callers act on: retry, or fail and say why."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ResourceNotFoundError,
    ServiceRequestError,
    ServiceResponseError,
)

# Statuses worth retrying later (the SDK has already retried a few times within the call).
TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class AzureError(Exception):
    """Base of the portal's Azure errors: `code` and `message` are Azure's where it gave them."""

    def __init__(self, message: str, *, code: str = "", status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status

    def __str__(self) -> str:
        return f"({self.code}) {self.message}" if self.code else self.message


class AzureTransientError(AzureError):
    """Throttling, timeouts, outages: try again later."""


class AzureOperationError(AzureError):
    """Azure refused or failed the request: retrying the same call will not help."""


class AzureNotFoundError(AzureOperationError):
    """The resource does not exist (404)."""


def translate(exc: Exception) -> AzureError:
    """Our error for an SDK or transport exception."""
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return AzureTransientError(f"Azure could not be reached: {exc}", code="ConnectionError")
    if isinstance(exc, HttpResponseError):
        code = ""
        message = str(exc.message or exc)
        if exc.error is not None:
            code = exc.error.code or ""
            message = exc.error.message or message
        status = exc.status_code
        if isinstance(exc, ResourceNotFoundError):
            return AzureNotFoundError(message, code=code or "ResourceNotFound", status=status)
        if isinstance(exc, ClientAuthenticationError):
            return AzureOperationError(message, code=code or "AuthenticationFailed", status=status)
        if status in TRANSIENT_STATUSES:
            return AzureTransientError(message, code=code, status=status)
        return AzureOperationError(message, code=code, status=status)
    raise exc


@contextmanager
def azure_errors() -> Iterator[None]:
    """Around every SDK call: callers only ever see our AzureError subclasses."""
    try:
        yield
    except (HttpResponseError, ServiceRequestError, ServiceResponseError) as exc:
        raise translate(exc) from exc

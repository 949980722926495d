"""Reading the emulator's request log across a long test session.

The emulator keeps only its newest 5,000 requests, so counting over the whole log can shrink
(or stand still at 5,000) between two reads; count what came after a marker instead.
"""

from __future__ import annotations

from typing import Any

WRITES = ("PUT", "PATCH", "POST", "DELETE")


def request_marker(emulator: Any) -> dict[str, Any] | None:
    """The newest logged request (None while the log is empty)."""
    requests = emulator.control("GET", "requests")["requests"]
    return requests[-1] if requests else None


def requests_since(emulator: Any, marker: dict[str, Any] | None) -> list[dict[str, Any]]:
    requests = emulator.control("GET", "requests")["requests"]
    if marker is None:
        return list(requests)
    positions = [i for i, r in enumerate(requests) if r == marker]
    assert positions, "the request log no longer holds the marker"
    return list(requests[positions[-1] + 1 :])


def writes_since(emulator: Any, marker: dict[str, Any] | None) -> int:
    return sum(1 for r in requests_since(emulator, marker) if r["method"] in WRITES)

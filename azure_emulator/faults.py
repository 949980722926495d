"""Fault injection: latency, error rates, failing the next N calls or LROs, regional outages.

Operation names are matched with shell-style patterns (``databases.*``, ``*``). Faults live in
memory only: a restart or ``/_emulator/reset`` clears them, so one test's faults never leak into
a later run.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from azure_emulator.errors import ArmError


@dataclass
class FaultRule:
    operation: str
    status: int = 500
    code: str = "InternalServerError"
    message: str = "An unexpected error occurred while processing the request (injected)."
    rate: float = 1.0
    remaining: int | None = None  # None: applies until cleared (rate-based)
    retry_after: int | None = None
    # Let this many matching calls through first ("fail the second rename"): faults midway.
    skip: int = 0

    def matches(self, operation: str) -> bool:
        return fnmatch.fnmatchcase(operation, self.operation)


@dataclass
class LroFailure:
    operation: str
    code: str = "InternalServerError"
    message: str = "The operation failed (injected)."
    remaining: int = 1


@dataclass
class Faults:
    latency_ms: dict[str, float] = field(default_factory=dict)
    rules: list[FaultRule] = field(default_factory=list)
    lro_failures: list[LroFailure] = field(default_factory=list)
    outages: set[str] = field(default_factory=set)
    # When each outage began (emulator clock): metrics and Resource Health date it from there.
    outage_started: dict[str, datetime] = field(default_factory=dict)
    seed: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._random = random.Random(self.seed)  # noqa: S311 - fault dice, not security

    def clear(self) -> None:
        with self._lock:
            self.latency_ms.clear()
            self.rules.clear()
            self.lro_failures.clear()
            self.outages.clear()
            self.outage_started.clear()

    def latency_for(self, operation: str) -> float:
        """Seconds to wait before answering; the largest matching setting wins."""
        best = 0.0
        for pattern, ms in self.latency_ms.items():
            if fnmatch.fnmatchcase(operation, pattern):
                best = max(best, ms)
        return best / 1000.0

    def injected_error(self, operation: str) -> ArmError | None:
        with self._lock:
            for rule in self.rules:
                if not rule.matches(operation):
                    continue
                if rule.remaining is not None:
                    if rule.remaining <= 0:
                        continue
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.remaining -= 1
                elif self._random.random() >= rule.rate:
                    continue
                return ArmError(rule.status, rule.code, rule.message, retry_after=rule.retry_after)
            # Spent fail-next rules are dropped so the snapshot stays readable.
            self.rules = [r for r in self.rules if r.remaining is None or r.remaining > 0]
        return None

    def take_lro_failure(self, operation: str) -> LroFailure | None:
        with self._lock:
            for failure in self.lro_failures:
                if fnmatch.fnmatchcase(operation, failure.operation) and failure.remaining > 0:
                    failure.remaining -= 1
                    taken = LroFailure(failure.operation, failure.code, failure.message, 1)
                    self.lro_failures = [f for f in self.lro_failures if f.remaining > 0]
                    return taken
        return None

    def region_down(self, location: str | None) -> bool:
        return (location or "").replace(" ", "").lower() in self.outages

    def describe(self) -> dict[str, Any]:
        return {
            "latency_ms": dict(self.latency_ms),
            "rules": [asdict(r) for r in self.rules],
            "lro_failures": [asdict(f) for f in self.lro_failures],
            "outages": sorted(self.outages),
        }

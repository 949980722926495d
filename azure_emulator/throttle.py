"""ARM's per-subscription token buckets (docs/azure-behaviours.md §10)."""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass
class Bucket:
    size: float
    refill_per_second: float
    tokens: float
    updated: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.size, self.tokens + (now - self.updated) * self.refill_per_second)
        self.updated = now


class Throttle:
    """One bucket per (subscription, kind); kinds are ``reads``, ``writes`` and ``deletes``.

    Buckets are in memory only: after a restart every subscription starts full, as after a
    quiet spell in Azure.
    """

    def __init__(self, sizes: dict[str, tuple[float, float]]) -> None:
        self._lock = threading.Lock()
        self.sizes = dict(sizes)
        self._buckets: dict[tuple[str, str], Bucket] = {}

    def configure(self, kind: str, size: float, refill_per_second: float) -> None:
        with self._lock:
            self.sizes[kind] = (size, refill_per_second)
            # New limits apply at once, as when a test lowers them to provoke a 429.
            for (_, bucket_kind), bucket in self._buckets.items():
                if bucket_kind == kind:
                    bucket.size = size
                    bucket.refill_per_second = refill_per_second
                    bucket.tokens = min(bucket.tokens, size)

    def reset(self) -> None:
        with self._lock:
            self._buckets.clear()

    def take(self, scope: str, kind: str) -> tuple[bool, int, int]:
        """Spend one token: (allowed, remaining, seconds until a token is back)."""
        size, refill = self.sizes.get(kind, self.sizes["writes"])
        now = time.monotonic()
        with self._lock:
            bucket = self._buckets.get((scope.lower(), kind))
            if bucket is None:
                bucket = Bucket(size, refill, size, now)
                self._buckets[(scope.lower(), kind)] = bucket
            bucket.refill(now)
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return True, int(bucket.tokens), 0
            wait = (
                (1 - bucket.tokens) / bucket.refill_per_second if bucket.refill_per_second else 60
            )
            return False, 0, max(1, math.ceil(wait))

    def status(self) -> dict[str, dict[str, float]]:
        now = time.monotonic()
        with self._lock:
            result: dict[str, dict[str, float]] = {}
            for (scope, kind), bucket in self._buckets.items():
                bucket.refill(now)
                result.setdefault(scope, {})[kind] = round(bucket.tokens, 2)
            return result

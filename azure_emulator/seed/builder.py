"""What every part of the seed shares: the fleet's constants, the builder and its random stream.

Every random draw goes through one ``random.Random(seed)`` in a fixed order, so the order in
which the topic modules are called is part of the seeded fleet: reordering two calls changes
the fleet for a given seed.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from azure_emulator.config import EmulatorConfig
from azure_emulator.directory import Directory
from azure_emulator.names import PLACES, SUFFIXES, TRADES
from azure_emulator.state import JSON, Store

PRIMARY_REGION = "australiaeast"
PRIMARY_REGION_DISPLAY = "Australia East"
GEO_REGION = "australiasoutheast"
GEO_REGION_DISPLAY = "Australia Southeast"
SECURITY_LOCATION = "australiaeast"
TENANT_TAG = "fleetwise-tenant"
ROLE_TAG = "fleetwise-role"

# Side tables (Store.table names) other modules read.
KEYVAULT_KEYS = "keyvault_keys"
DROPPED_DATABASES = "dropped_databases"

TENANTS_PER_POOL = 40
POOLS_PER_SERVER = 4

DTU_POOL_SIZES = (100, 200, 400, 800)
VCORE_POOL_SIZES = (2, 4, 8)


class FleetBuilder:
    """The seeding context: the store being filled, the random stream and the seeding moment."""

    def __init__(self, store: Store, config: EmulatorConfig, directory: Directory) -> None:
        self.store = store
        self.config = config
        self.directory = directory
        self.rng = random.Random(config.seed)  # noqa: S311 - reproducible demo data
        self.now = store.now()

    def guid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def put(self, body: JSON) -> JSON:
        self.store.resources[body["id"].lower()] = body
        return body

    def days_ago(self, low: float, high: float) -> datetime:
        return self.now - timedelta(days=self.rng.uniform(low, high))


def slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def tenant_names(rng: random.Random, count: int) -> list[str]:
    """Unique display names; bare "Place Trade" names first, suffixed ones once those run out."""
    bare = [f"{p} {t}" for p in PLACES for t in TRADES]
    rng.shuffle(bare)
    if count <= len(bare):
        return bare[:count]
    suffixed = [f"{n}{s}" for n in bare for s in SUFFIXES if s]
    rng.shuffle(suffixed)
    return bare + suffixed[: count - len(bare)]


def spread(count: int, buckets: int) -> list[int]:
    """Split ``count`` into ``buckets`` near-equal parts."""
    base, extra = divmod(count, buckets)
    return [base + (1 if i < extra else 0) for i in range(buckets)]


def metric_profile(rng: random.Random, level: float, *, unhealthy: bool = False) -> JSON:
    """Parameters of a resource's metric curves (served by the metrics provider).

    value(t) = level * (1 + amplitude * daily(t)) + noise, where daily() peaks at
    ``peak_hour_utc`` (business hours in Australia fall around 23:00-07:00 UTC).
    """
    return {
        "level": round(level, 3),
        "amplitude": round(rng.uniform(0.3, 0.8), 3),
        "peak_hour_utc": rng.choice((0, 1, 2, 3, 4, 5)),
        "weekend_factor": round(rng.uniform(0.4, 0.8), 3),
        "noise": round(rng.uniform(0.03, 0.12), 3),
        "phase_seed": rng.getrandbits(32),
        "error_rate": round(rng.uniform(0.12, 0.3) if unhealthy else rng.uniform(0.0, 0.004), 4),
        "health_check_percent": round(rng.uniform(20, 60) if unhealthy else 100.0, 1),
    }


@dataclass(frozen=True)
class Placement:
    """Where a tenant's database lives: its subscription, server pair and pool, and the server's
    key when the server (not the database) holds the customer-managed key."""

    subscription_id: str
    primary: JSON
    geo: JSON
    pool: JSON
    identity_id: str
    server_kid: str | None

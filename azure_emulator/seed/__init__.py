"""The deterministic seeded fleet: tenants, their Azure resources, and the demo's imperfections.

Everything derives from ``random.Random(seed)``, so a seed and a fleet size always give the
same fleet (ids, names, sizes, violations) — apart from timestamps, which are relative to the
moment of seeding. Provider modules read these shapes; the README documents the tables.

By topic: ``fleet`` lays out subscriptions, server pairs, pools and tenants; ``servers``,
``keys``, ``databases``, ``sites`` and ``alerts`` build the resources; ``builder`` holds the
shared constants and the random stream. Providers add their own rows through seed hooks.
"""

from __future__ import annotations

from azure_emulator.seed.builder import (
    DROPPED_DATABASES,
    GEO_REGION,
    GEO_REGION_DISPLAY,
    KEYVAULT_KEYS,
    PRIMARY_REGION,
    PRIMARY_REGION_DISPLAY,
    ROLE_TAG,
    SECURITY_LOCATION,
    TENANT_TAG,
)
from azure_emulator.seed.fleet import seed_fleet
from azure_emulator.seed.keys import server_key_name

__all__ = [
    "DROPPED_DATABASES",
    "GEO_REGION",
    "GEO_REGION_DISPLAY",
    "KEYVAULT_KEYS",
    "PRIMARY_REGION",
    "PRIMARY_REGION_DISPLAY",
    "ROLE_TAG",
    "SECURITY_LOCATION",
    "TENANT_TAG",
    "seed_fleet",
    "server_key_name",
]

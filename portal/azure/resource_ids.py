"""ARM resource ids for the Azure boundary: the portal's one parser (portal/resource_ids.py)."""

from __future__ import annotations

from portal.resource_ids import ResourceId, name_of, parse, same

__all__ = ["ResourceId", "name_of", "parse", "same"]

"""Metric values over time: a resource as a :class:`curves.Subject` and its series of points.

:class:`SubjectIndex` turns a stored resource (site, plan, database, pool, App Insights
component) into the subject :mod:`metric_curves` samples, from what it went through (stopped or
unhealthy spells, offline status, a regional outage); :func:`series` aggregates samples into
the points of one grain.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from azure_emulator.arm import normalise_region
from azure_emulator.faults import Faults
from azure_emulator.providers import metric_curves as curves
from azure_emulator.providers.monitor_catalogue import (
    COMPONENT_TYPE,
    DB_TYPE,
    POOL_TYPE,
    RETENTION,
    VCORE_TIERS,
    WHOLE_COUNTERS,
    MetricSpec,
    outage_start,
)
from azure_emulator.providers.web import PLAN_TYPE, SITE_TYPE, sites_on_plan, windows_of
from azure_emulator.state import JSON, Store, isoformat, parse_time

# -- subjects -------------------------------------------------------------------------------------


class SubjectIndex:
    """Builds :class:`curves.Subject` objects, sharing lookups across the resources of a query."""

    def __init__(self, store: Store, faults: Faults) -> None:
        self.store = store
        self.faults = faults
        self._pool_members: dict[str, list[JSON]] | None = None

    def members(self, pool_id: str) -> list[JSON]:
        """The pool's member databases."""
        return self._members(pool_id)

    def _members(self, pool_id: str) -> list[JSON]:
        if self._pool_members is None:
            self._pool_members = {}
            for db in self.store.of_type(DB_TYPE):
                pool = (db.get("properties") or {}).get("elasticPoolId")
                if pool:
                    self._pool_members.setdefault(str(pool).lower(), []).append(db)
        return self._pool_members.get(pool_id.lower(), [])

    def _scale(self, body: JSON) -> float:
        meta = body.get("_meta") or {}
        value = meta.get("scale")
        return (
            float(value) if isinstance(value, int | float) else curves.scale_for(body["id"].lower())
        )

    def _epoch(self, text: Any, default: float = 0.0) -> float:
        if not text:
            return default
        try:
            return parse_time(str(text)).timestamp()
        except ValueError:
            return default

    def _outage(self, body: JSON) -> list[curves.Window]:
        start = outage_start(self.store, self.faults, normalise_region(body.get("location")))
        return [] if start is None else [curves.Window(start, None, "outage")]

    def subject(self, body: JSON) -> curves.Subject:
        kind = str(body.get("type", "")).lower()
        if kind == COMPONENT_TYPE.lower():
            return self._component(body)
        key = body["id"].lower()
        meta = body.get("_meta") or {}
        props = body.get("properties") or {}
        profile = meta.get("metrics") or {}
        s = curves.Subject(resource_key=key, resource_type=kind, scale=self._scale(body))
        if isinstance(profile.get("error_rate"), int | float):
            s.error_rate = float(profile["error_rate"])
        if isinstance(profile.get("health_check_percent"), int | float):
            s.health_percent = float(profile["health_check_percent"])
        if kind == SITE_TYPE.lower():
            s.created = self._epoch(meta.get("created"))
            config = self.store.get(f"{body['id']}/config/web")
            # App Service's default config has a health check path; an explicit "" turns it off.
            s.health_check = config is None or bool(config["properties"].get("healthCheckPath"))
            s.windows = [
                curves.Window(
                    self._epoch(w["start"]),
                    self._epoch(w["end"]) if w.get("end") else None,
                    str(w["condition"]),
                )
                for w in windows_of(body)
            ]
        elif kind == PLAN_TYPE.lower():
            s.capacity = float(body["sku"].get("capacity") or 1)
            s.created = self._epoch(meta.get("created"))
            s.members_scale = sum(
                self._scale(site)
                for site in sites_on_plan(self.store, body["id"])
                if site["properties"].get("state") == "Running"
            )
        elif kind == DB_TYPE.lower():
            s.created = self._epoch(props.get("creationDate"))
            s.storage_limit = float(props.get("maxSizeBytes") or 0)
            s.storage_fraction = self._storage_fraction(body)
            pool = (
                self.store.get(str(props["elasticPoolId"])) if props.get("elasticPoolId") else None
            )
            sku = (pool or body).get("sku") or {}
            s.vcore = str(sku.get("tier", "")).lower() in VCORE_TIERS
            if pool is not None:
                per_db = (pool.get("properties") or {}).get("perDatabaseSettings") or {}
                s.capacity = float(per_db.get("maxCapacity") or sku.get("capacity") or 0)
            else:
                s.capacity = float(sku.get("capacity") or 0)
            status = str(props.get("status", "Online"))
            if status not in ("Online", "Scaling"):
                s.windows.append(curves.Window(0.0, None, "offline"))
        elif kind == POOL_TYPE.lower():
            s.created = self._epoch(props.get("creationDate"))
            sku = body.get("sku") or {}
            s.vcore = str(sku.get("tier", "")).lower() in VCORE_TIERS
            s.capacity = float(sku.get("capacity") or 0)
            s.storage_limit = float(props.get("maxSizeBytes") or 0)
            members = [
                m
                for m in self._members(body["id"])
                if m.get("properties", {}).get("status", "Online") == "Online"
            ]
            s.members = len(members)
            s.members_scale = sum(self._scale(m) for m in members)
            used = sum(
                float((m.get("properties") or {}).get("maxSizeBytes") or 0)
                * self._storage_fraction(m)
                for m in members
            )
            s.storage_fraction = min(0.95, used / s.storage_limit) if s.storage_limit else 0.0
        s.windows.extend(self._outage(body))
        return s

    def _component(self, body: JSON) -> curves.Subject:
        """An App Insights component sees what its app (the tenant's site) serves."""
        slug = (body.get("_meta") or {}).get("tenant")
        group = body["id"].split("/providers/", 1)[0]
        site = self.store.get(f"{group}/providers/Microsoft.Web/sites/app-{slug}") if slug else None
        if site is None:
            return curves.Subject(
                resource_key=body["id"].lower(), resource_type=COMPONENT_TYPE.lower(), scale=0.0
            )
        s = self.subject(site)
        s.resource_type = COMPONENT_TYPE.lower()
        return s

    def _storage_fraction(self, db: JSON) -> float:
        used = (db.get("_meta") or {}).get("used_bytes")
        limit = (db.get("properties") or {}).get("maxSizeBytes")
        if isinstance(used, int | float) and isinstance(limit, int | float) and limit > 0:
            return min(0.98, float(used) / float(limit))
        return 0.15 + 0.45 * curves.unit_hash(db["id"].lower(), "storage")


def sample(subject: curves.Subject, metric: str, epoch: float) -> float | None:
    kind = subject.resource_type
    if kind == SITE_TYPE.lower():
        return curves.site_value(subject, metric, epoch)
    if kind == PLAN_TYPE.lower():
        return curves.plan_value(subject, metric, epoch)
    if kind == COMPONENT_TYPE.lower():
        return curves.component_value(subject, metric, epoch)
    return curves.sql_value(subject, metric, epoch)


# -- series ---------------------------------------------------------------------------------------


def series(
    subject: curves.Subject,
    spec: MetricSpec,
    start: datetime,
    end: datetime,
    grain: timedelta,
    aggregations: list[str],
    now: datetime,
) -> list[JSON]:
    """Data points from ``start`` (floored to the grain) to ``end``, one per grain."""
    step = grain.total_seconds()
    first = math.floor(start.timestamp() / step) * step if step <= 86400 else start.timestamp()
    horizon = (now - RETENTION).timestamp()
    minutes = max(1.0, step / 60)
    # Sample at most 12 instants per point: a PT1H average from 12 samples of smooth curves is
    # within noise of one from 60, at a fifth of the cost (batch queries cover 50 resources).
    samples_per_point = int(min(12, minutes))
    points: list[JSON] = []
    t = first
    stop, present = end.timestamp(), now.timestamp()
    while t < stop:
        point: JSON = {"timeStamp": isoformat(datetime.fromtimestamp(t, UTC))}
        values: list[float] = []
        if horizon <= t < present and t >= subject.created - step:
            for i in range(samples_per_point):
                instant = t + (i + 0.5) * step / samples_per_point
                if instant > present or instant < subject.created:
                    continue
                value = sample(subject, spec.name, instant)
                if value is not None:
                    values.append(value)
        if values:
            covered = minutes * len(values) / samples_per_point
            mean = sum(values) / len(values)
            whole = spec.name in WHOLE_COUNTERS
            for aggregation in aggregations:
                if aggregation == "Average":
                    point["average"] = round(mean, 4)
                elif aggregation == "Minimum":
                    point["minimum"] = round(min(values), 4)
                elif aggregation == "Maximum":
                    point["maximum"] = round(max(values), 4)
                elif aggregation == "Total":
                    total = mean * covered
                    point["total"] = float(round(total)) if whole else round(total, 4)
                elif aggregation == "Count":
                    point["count"] = float(round(covered))
        elif spec.primary == "Total" and subject.created <= t < present:
            # Counters report zero rather than nothing when there was no traffic.
            for aggregation in aggregations:
                if aggregation in ("Total", "Count"):
                    point[aggregation.lower()] = 0.0
        points.append(point)
        t += step
    return points

"""The emulator's state: ARM resources, side tables and LRO records, persisted as one JSON file.

ARM resource ids are case-insensitive, so resources are keyed by the lower-cased id while the
body keeps the casing it was created with. Top-level body keys starting with ``_`` (``_meta``)
are emulator-only bookkeeping (lineage, metric curve parameters, health) and are stripped by
:func:`public` before a body goes on the wire.
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

JSON = dict[str, Any]

STATE_FILE = "state.json"
STATE_VERSION = 1


def key(resource_id: str) -> str:
    """The store key of an ARM id: lower-cased, no trailing slash."""
    return resource_id.rstrip("/").lower()


def public(body: JSON) -> JSON:
    """A copy of ``body`` without emulator-only top-level keys, ready to serialise."""
    return {k: v for k, v in body.items() if not k.startswith("_")}


def isoformat(moment: datetime) -> str:
    """ARM's timestamp form (UTC, ``Z``, no microseconds unless present)."""
    text = moment.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


def parse_time(text: str) -> datetime:
    """Parse the ISO-8601 forms ARM clients send (``Z`` or offset, up to 7 fractional digits)."""
    value = text.strip().replace("z", "Z")
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    # .NET writes 7 fractional digits; Python accepts at most 6.
    if "." in value:
        head, _, rest = value.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        tail = rest[len(digits) :]
        value = f"{head}.{digits[:6]}{tail}"
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        # ARM treats a time without an offset as UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class Store:
    """Thread-safe in-memory state with debounced, atomic persistence.

    Handlers run on the event loop and hold :attr:`lock` while they read and write; the
    persistence task takes the same lock to serialise a consistent snapshot.
    """

    def __init__(self, state_dir: Path | None) -> None:
        self.lock = threading.RLock()
        self.state_dir = state_dir
        self.resources: dict[str, JSON] = {}
        self.tables: dict[str, dict[str, JSON]] = {}
        self.info: JSON = {}
        # Seconds added to the wall clock; lets tests move time without touching the host clock.
        self.clock_offset = 0.0
        self._dirty = False
        self._generation = 0

    # -- time ---------------------------------------------------------------------------------

    def now(self) -> datetime:
        return datetime.now(UTC) + timedelta(seconds=self.clock_offset)

    # -- resources ----------------------------------------------------------------------------

    def get(self, resource_id: str) -> JSON | None:
        return self.resources.get(key(resource_id))

    def put(self, body: JSON) -> JSON:
        """Insert or replace a resource; ``body["id"]`` is its identity."""
        with self.lock:
            self.resources[key(body["id"])] = body
            self.touch()
        return body

    def delete(self, resource_id: str) -> JSON | None:
        with self.lock:
            removed = self.resources.pop(key(resource_id), None)
            if removed is not None:
                self.touch()
            return removed

    def children(self, parent_id: str, child_type: str | None = None) -> list[JSON]:
        """Resources directly or indirectly below ``parent_id`` (optionally of one ARM type)."""
        prefix = key(parent_id) + "/"
        wanted = child_type.lower() if child_type else None
        found = []
        for k, body in self.resources.items():
            if k.startswith(prefix) and (
                wanted is None or str(body.get("type", "")).lower() == wanted
            ):
                found.append(body)
        return found

    def of_type(self, resource_type: str, scope: str | None = None) -> Iterator[JSON]:
        """All resources of an ARM type, optionally under a scope id (subscription, group...)."""
        wanted = resource_type.lower()
        prefix = key(scope) + "/" if scope else ""
        for k, body in self.resources.items():
            if k.startswith(prefix) and str(body.get("type", "")).lower() == wanted:
                yield body

    def move(self, old_id: str, new_id: str, rewrite: Callable[[JSON], None] | None = None) -> None:
        """Move a resource and everything below it to a new id (a rename)."""
        with self.lock:
            old_prefix = key(old_id)
            moved: list[JSON] = []
            for k in [
                k for k in self.resources if k == old_prefix or k.startswith(old_prefix + "/")
            ]:
                moved.append(self.resources.pop(k))
            for body in moved:
                body["id"] = new_id + body["id"][len(old_id) :]
                if rewrite is not None:
                    rewrite(body)
                self.resources[key(body["id"])] = body
            self.touch()

    # -- side tables (Key Vault keys, dropped databases, operations, ...) -----------------------

    def table(self, name: str) -> dict[str, JSON]:
        """A named table of JSON rows; created on first use. Call :meth:`touch` after writes."""
        with self.lock:
            return self.tables.setdefault(name, {})

    # -- persistence --------------------------------------------------------------------------

    def touch(self) -> None:
        self._dirty = True
        self._generation += 1

    @property
    def generation(self) -> int:
        """Counts changes made through put/delete/touch (what a cached read compares)."""
        return self._generation

    @property
    def dirty(self) -> bool:
        return self._dirty

    def snapshot(self) -> JSON:
        with self.lock:
            return copy.deepcopy(self._document())

    def _document(self) -> JSON:
        return {
            "version": STATE_VERSION,
            "info": self.info,
            "clock_offset": self.clock_offset,
            "resources": self.resources,
            "tables": self.tables,
        }

    def save(self) -> None:
        """Write the state atomically (temp file in the same folder, then rename)."""
        if self.state_dir is None:
            return
        with self.lock:
            generation = self._generation
            text = json.dumps(self._document(), separators=(",", ":"))
        self.state_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".state-", suffix=".json", dir=self.state_dir)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.state_dir / STATE_FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        with self.lock:
            # A change made while we were writing keeps the store dirty for the next flush.
            if self._generation == generation:
                self._dirty = False

    def load(self) -> bool:
        """Load a saved state; False when there is none (the caller seeds)."""
        if self.state_dir is None:
            return False
        path = self.state_dir / STATE_FILE
        if not path.exists():
            return False
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("version") != STATE_VERSION:
            return False
        with self.lock:
            self.info = document.get("info", {})
            self.clock_offset = float(document.get("clock_offset", 0.0))
            self.resources = document.get("resources", {})
            self.tables = document.get("tables", {})
            self._dirty = False
        return True

    def replace(self, other: Store) -> None:
        """Take over another store's content (used by reset, which seeds into a fresh store)."""
        with self.lock:
            self.info = other.info
            self.resources = other.resources
            self.tables = other.tables
            self.clock_offset = 0.0
            self.touch()

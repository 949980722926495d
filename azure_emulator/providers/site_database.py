"""Whether a site's app can reach the database its connection string names.

The fleet's app answers its health check (`/healthz`) only when it can open its database, so an
app whose `FleetwiseDb` connection string names a database that does not exist fails App
Service's health check: Resource Health reports it Degraded (docs/azure-behaviours.md, "App
Service sites: create, update, delete, settings"). Only a missing database counts here: a
database that exists but is not Online is Resource Health's own concern for the database.
"""

from __future__ import annotations

import re

from azure_emulator.state import JSON, Store

CONNECTION_NAME = "FleetwiseDb"
SERVER_TYPE = "microsoft.sql/servers"
_SERVER = re.compile(r"Server=tcp:([^.,;]+)\.database\.windows\.net", re.IGNORECASE)
_CATALOG = re.compile(r"(?:Initial Catalog|Database)=([^;]+)", re.IGNORECASE)
# store id -> (resource count when built, server name -> server id): rebuilt when resources
# are added or removed, so a fleet-wide Resource Health list reads the servers once.
_INDEX: dict[int, tuple[int, dict[str, str]]] = {}


def _server_ids(store: Store) -> dict[str, str]:
    size = len(store.resources)
    cached = _INDEX.get(id(store))
    if cached is not None and cached[0] == size:
        return cached[1]
    names = {
        str(body["name"]).lower(): str(body["id"])
        for body in store.resources.values()
        if str(body.get("type", "")).lower() == SERVER_TYPE
    }
    _INDEX[id(store)] = (size, names)
    return names


def missing_database(store: Store, site: JSON) -> str | None:
    """ "<database> on <server>" when the site's connection string names a database that does
    not exist; None when it exists, or the site has no such connection string."""
    config = store.get(f"{site['id']}/config/connectionstrings")
    entry = ((config or {}).get("properties") or {}).get(CONNECTION_NAME)
    value = entry.get("value", "") if isinstance(entry, dict) else ""
    server, catalog = _SERVER.search(value), _CATALOG.search(value)
    if not server or not catalog:
        return None
    server_id = _server_ids(store).get(server.group(1).lower())
    name = catalog.group(1).strip()
    if server_id is not None and store.get(f"{server_id}/databases/{name}") is not None:
        return None
    return f"{name} on {server.group(1)}"

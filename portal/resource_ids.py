"""ARM resource ids: the portal's one parser. Parsed once, compared case-insensitively (ARM ids
are; responses may even change the casing of an id we sent).

Pure (no SDK), so the catalogue's validation (tenants/resource_ids.py), the Azure boundary
(portal/azure/, which re-exports this module) and the restore steps all read ids the same way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResourceId:
    """`/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace}/{type}/{name}[/{type}/{name}...]`."""

    subscription_id: str
    resource_group: str
    namespace: str
    # (type, name) pairs from the top-level resource down, e.g. (("servers", "s1"), ("databases", "db")).
    path: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return self.path[-1][1]

    @property
    def type(self) -> str:
        return self.path[-1][0]

    def name_of(self, resource_type: str) -> str:
        """The name of the given segment type in this id (`servers` → the server's name)."""
        for segment_type, name in self.path:
            if segment_type.lower() == resource_type.lower():
                return name
        raise ValueError(f"{self} has no '{resource_type}' segment.")

    @property
    def parent(self) -> ResourceId:
        if len(self.path) < 2:
            raise ValueError(f"{self} is a top-level resource.")
        return ResourceId(self.subscription_id, self.resource_group, self.namespace, self.path[:-1])

    def child(self, resource_type: str, name: str) -> ResourceId:
        return ResourceId(
            self.subscription_id,
            self.resource_group,
            self.namespace,
            (*self.path, (resource_type, name)),
        )

    def __str__(self) -> str:
        tail = "/".join(f"{t}/{n}" for t, n in self.path)
        return (
            f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"
            f"/providers/{self.namespace}/{tail}"
        )


def parse(resource_id: str, *, expect: str | None = None) -> ResourceId:
    """Parse a provider resource id; `expect` (`Microsoft.Sql/servers/databases`) checks its type.

    Raises ValueError for anything else: ids come from our catalogue, so a malformed one is a bug
    or bad data, never something to send to Azure.
    """
    parts = resource_id.strip().strip("/").split("/")
    if (
        len(parts) < 8
        or len(parts) % 2
        or parts[0].lower() != "subscriptions"
        or parts[2].lower() != "resourcegroups"
        or parts[4].lower() != "providers"
        or not all(parts)
    ):
        raise ValueError(f"Not an ARM resource id: {resource_id!r}")
    rest = parts[6:]
    parsed = ResourceId(
        subscription_id=parts[1],
        resource_group=parts[3],
        namespace=parts[5],
        path=tuple((rest[i], rest[i + 1]) for i in range(0, len(rest), 2)),
    )
    if expect is not None:
        namespace, *types = expect.split("/")
        actual = [parsed.namespace.lower(), *(t.lower() for t, _ in parsed.path)]
        if actual != [namespace.lower(), *(t.lower() for t in types)]:
            raise ValueError(f"Not a {expect} id: {resource_id!r}")
    return parsed


def same(a: str | None, b: str | None) -> bool:
    """Whether two ARM ids name the same resource (case-insensitive, ignoring a trailing slash)."""
    if a is None or b is None:
        return a is b
    return a.strip().rstrip("/").lower() == b.strip().rstrip("/").lower()


def name_of(resource_id: str | None, *, default: str = "") -> str:
    """The last segment's name of an id (`…/databases/db-acme` → `db-acme`), or `default`
    for an empty or malformed id (pages show ids that may be missing)."""
    if not resource_id:
        return default
    try:
        return parse(resource_id).name
    except ValueError:
        return default

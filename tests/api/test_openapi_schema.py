"""The OpenAPI schema and its interactive page: for signed-in staff; the schema lists every
endpoint of the API, every $ref in it resolves, and every operation requires the bearer token."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

pytestmark = [pytest.mark.django_db]

METHODS = {"get", "post", "put", "patch", "delete"}


def api_routes() -> set[str]:
    """Every endpoint the URLconf routes under /api/v1/, as the schema writes paths."""
    found: set[str] = set()
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and str(pattern.pattern) == "api/v1/":
            for inner in pattern.url_patterns:
                assert isinstance(inner, URLPattern)
                route = str(inner.pattern)
                # The docs and the catch-all for unknown paths are not API endpoints.
                if inner.name not in ("api-root", "openapi-json", "openapi-view", "unknown"):
                    found.add(
                        "/api/v1/" + route.replace("<int:", "{").replace("<", "{").replace(">", "}")
                    )
    return found


def refs(node) -> list[str]:
    if isinstance(node, dict):
        return [node["$ref"]] if "$ref" in node else [r for v in node.values() for r in refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_the_schema_lists_every_endpoint_and_resolves(client, support):
    client.force_login(support)
    schema = client.get("/api/v1/openapi.json").json()
    assert schema["openapi"].startswith("3.")
    assert set(schema["paths"]) == api_routes()
    operations = [
        (path, method, spec)
        for path, item in schema["paths"].items()
        for method, spec in item.items()
        if method in METHODS
    ]
    assert len(operations) == 8
    for path, method, spec in operations:
        assert spec["security"] == [{"EntraBearer": []}], (path, method)
        assert spec.get("summary"), (path, method)
    components = schema["components"]["schemas"]
    for ref in refs(schema):
        assert ref.startswith("#/components/schemas/")
        assert ref.removeprefix("#/components/schemas/") in components, ref
    assert schema["components"]["securitySchemes"]["EntraBearer"]["scheme"] == "bearer"


def test_the_interactive_page_is_served_from_the_portal_itself(client, account_manager):
    client.force_login(account_manager)
    page = client.get("/api/v1/docs").content.decode()
    assert "swagger-ui-bundle.js" in page
    assert "cdn" not in page.lower()


def test_people_without_a_portal_role_cannot_read_the_schema(client, outsider):
    assert client.get("/api/v1/openapi.json").status_code == 302  # to sign in
    client.force_login(outsider)
    assert client.get("/api/v1/openapi.json").status_code == 403

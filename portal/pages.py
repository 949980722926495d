"""Rendering the portal's own pages inside the admin shell (header, user tools, sidebar)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def render_page(
    request: HttpRequest,
    template_name: str,
    context: dict[str, Any],
    *,
    title: str,
    status: int = 200,
) -> HttpResponse:
    """A full page on Django admin's look; htmx fragments use plain `render`."""
    return render(
        request,
        template_name,
        {**admin.site.each_context(request), "title": title, **context},
        status=status,
    )

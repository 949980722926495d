from __future__ import annotations

from django.urls import path

from dr import drill_views, views

app_name = "dr"

urlpatterns = [
    path("", views.readiness, name="readiness"),
    path("drill", drill_views.drill_request_view, name="drill"),
]

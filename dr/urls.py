from __future__ import annotations

from django.urls import path

from dr import drill_views, failover_views, repatriation_views, views

app_name = "dr"

urlpatterns = [
    path("", views.readiness, name="readiness"),
    path("drill", drill_views.drill_request_view, name="drill"),
    path("repatriate", repatriation_views.repatriation_request_view, name="repatriate"),
    path("failover/", failover_views.failover_declare_view, name="failover_declare"),
    path("failover/<int:pk>/", failover_views.failover_progress_view, name="failover"),
]

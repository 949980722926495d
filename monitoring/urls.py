from __future__ import annotations

from django.urls import path

from monitoring import views

app_name = "monitoring"

urlpatterns = [
    path("pools/", views.pools, name="pools"),
    path("alerts/", views.alerts, name="alerts"),
    path("alerts/<int:pk>/triage", views.alert_triage_view, name="alert-triage"),
    path("posture/", views.posture, name="posture"),
    path("refresh", views.refresh_fleet, name="refresh-fleet"),
    path("refresh/<slug:slug>", views.refresh_tenant, name="refresh-tenant"),
]

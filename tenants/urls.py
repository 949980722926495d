from __future__ import annotations

from django.urls import path

from tenants import views

app_name = "tenants"

urlpatterns = [
    path("<slug:slug>/", views.tenant_detail, name="detail"),
    path("<slug:slug>/operations", views.tenant_operations, name="operations"),
]

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from portal import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", admin.site.urls),
]

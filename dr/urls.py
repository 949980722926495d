from __future__ import annotations

from django.urls import path

from dr import views

app_name = "dr"

urlpatterns = [
    path("", views.readiness, name="readiness"),
]

from __future__ import annotations

from django.urls import path

from keys import views

app_name = "keys"

urlpatterns = [
    path("", views.rotate_key, name="rotate"),
]

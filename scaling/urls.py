from __future__ import annotations

from django.urls import path

from scaling import views

app_name = "scaling"

urlpatterns = [
    path("", views.scale, name="scale"),
    path("confirm", views.scale_confirm, name="scale-confirm"),
]

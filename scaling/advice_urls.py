from __future__ import annotations

from django.urls import path

from scaling import views

app_name = "scaling-advice"

urlpatterns = [
    path("advice/", views.rebalancing, name="rebalancing"),
]

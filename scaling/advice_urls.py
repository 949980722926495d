from __future__ import annotations

from django.urls import path

from scaling import advice

app_name = "scaling-advice"

urlpatterns = [
    path("advice/", advice.rebalancing, name="rebalancing"),
]

from __future__ import annotations

from django.urls import path

from keys import list_views

app_name = "key-inventory"

urlpatterns = [
    path("", list_views.key_list, name="list"),
]

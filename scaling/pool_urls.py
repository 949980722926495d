from __future__ import annotations

from django.urls import path

from scaling import pool_views

app_name = "pool-scaling"

urlpatterns = [
    path("<int:pk>/", pool_views.pool_scale, name="scale"),
    path("<int:pk>/confirm", pool_views.pool_scale_confirm, name="confirm"),
]

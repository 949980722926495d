from __future__ import annotations

from django.urls import path

from backups import views

app_name = "backups"

urlpatterns = [
    path("", views.restore, name="restore"),
    path("preview", views.restore_time_preview, name="restore-preview"),
    path("snapshot", views.restore_snapshot, name="restore-snapshot"),
    path("confirm", views.restore_confirm, name="restore-confirm"),
]

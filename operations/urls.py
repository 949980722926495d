from __future__ import annotations

from django.urls import path

from operations import approvals, views

app_name = "operations"

urlpatterns = [
    path("", views.operation_list, name="list"),
    path("approvals/", approvals.approvals, name="approvals"),
    path("approvals/<int:pk>/approve", approvals.approve, name="approvals-approve"),
    path("approvals/<int:pk>/reject", approvals.reject, name="approvals-reject"),
    path("<int:pk>/", views.operation_detail, name="detail"),
    path("<int:pk>/progress", views.operation_progress, name="progress"),
    path("<int:pk>/approve", views.operation_approve_view, name="approve"),
    path("<int:pk>/cancel", views.operation_cancel_view, name="cancel"),
    path("<int:pk>/pause", views.operation_pause_view, name="pause"),
    path("<int:pk>/resume", views.operation_resume_view, name="resume"),
]

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from api.api import api
from portal import views

handler403 = "portal.views.permission_denied"
handler404 = "portal.views.page_not_found"
handler500 = "portal.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("healthz/live", views.healthz_live, name="healthz-live"),
    path("auth/sign-in/", views.sign_in, name="sign-in"),
    path("auth/start/", views.sign_in_start, name="auth-start"),
    path("auth/callback", views.sign_in_callback, name="auth-callback"),
    path("auth/sign-out/", views.sign_out, name="sign-out"),
    path("auth/break-glass/", views.BreakGlassSignIn.as_view(), name="break-glass"),
    # The portal's own pages, before the admin's catch-all.
    path("fleet/", include("tenants.urls")),
    path("fleet/<slug:slug>/restore/", include("backups.urls")),
    path("fleet/<slug:slug>/rotate-key/", include("keys.urls")),
    path("fleet/<slug:slug>/scale/", include("scaling.urls")),
    path("operations/", include("operations.urls")),
    path("scaling/", include("scaling.advice_urls")),
    path("scaling/pools/", include("scaling.pool_urls")),
    path("keys/", include("keys.list_urls")),
    path("monitoring/", include("monitoring.urls")),
    path("notifications/", include("notifications.urls")),
    path("dr/", include("dr.urls")),
    path("api/v1/", api.urls),
    path("", admin.site.urls),
]

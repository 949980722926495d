"""Portal roles: the Django groups, the permissions each holds, and the Entra ID app-role mapping.

docs/architecture.md §1: account managers view; support also restores; admins do everything.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings

ACCOUNT_MANAGERS = "Account managers"
SUPPORT = "Support"
ADMINS = "Admins"
GROUPS = (ACCOUNT_MANAGERS, SUPPORT, ADMINS)

VIEW_TENANT = "portal.view_tenant"
REQUEST_RESTORE = "portal.request_restore"
APPROVE_OPERATION = "portal.approve_operation"
SCALE_TENANT = "portal.scale_tenant"
ROTATE_KEY = "portal.rotate_key"
MANAGE_CATALOGUE = "portal.manage_catalogue"
TRIAGE_ALERT = "portal.triage_alert"
VIEW_AUDIT = "portal.view_auditevent"
# Admins manage people's portal settings; lifting a break-glass lockout is one of them.
UNLOCK_SIGN_IN = "portal.change_staffprofile"
VIEW_NOTIFICATIONS_SENT = "notifications.view_delivery"

CELERY_BEAT_MODELS = (
    "periodictask",
    "intervalschedule",
    "crontabschedule",
    "solarschedule",
    "clockedschedule",
)

GROUP_PERMISSIONS: dict[str, tuple[str, ...]] = {
    ACCOUNT_MANAGERS: (VIEW_TENANT,),
    SUPPORT: (VIEW_TENANT, REQUEST_RESTORE, TRIAGE_ALERT),
    ADMINS: (
        VIEW_TENANT,
        REQUEST_RESTORE,
        TRIAGE_ALERT,
        APPROVE_OPERATION,
        SCALE_TENANT,
        ROTATE_KEY,
        MANAGE_CATALOGUE,
        VIEW_AUDIT,
        VIEW_NOTIFICATIONS_SENT,
        "portal.view_staffprofile",
        "portal.change_staffprofile",
        # Who holds which role is managed in Entra ID; admins may look, not change.
        "auth.view_user",
        "auth.view_group",
        # Refresh schedules are editable in the admin (django-celery-beat).
        *(
            f"django_celery_beat.{action}_{model}"
            for model in CELERY_BEAT_MODELS
            for action in ("view", "add", "change", "delete")
        ),
    ),
}


def app_role_groups() -> dict[str, str]:
    """Entra ID app-role value → Django group name (role values are settings)."""
    return {
        settings.ENTRA_ROLE_ACCOUNT_MANAGER: ACCOUNT_MANAGERS,
        settings.ENTRA_ROLE_SUPPORT: SUPPORT,
        settings.ENTRA_ROLE_ADMIN: ADMINS,
    }


def groups_for_app_roles(roles: Iterable[str]) -> set[str]:
    """The groups a person holds for the app roles in their ID token; unknown roles give nothing."""
    mapping = app_role_groups()
    return {mapping[role] for role in roles if role in mapping}


# The JSON API (docs/api.md). Daemon apps hold app roles of the portal's API, each granting
# exact permissions; they never join the staff groups and cannot open the pages or the admin.
API_APP_ROLE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "Fleet.Read": (VIEW_TENANT,),
    "Operations.Request": (VIEW_TENANT, REQUEST_RESTORE),
    "Operations.Approve": (VIEW_TENANT, APPROVE_OPERATION),
}
# Delegated scopes a person's token may carry: reading, or also acting (as far as their role goes).
API_SCOPE_READ = "Operations.Read"
API_SCOPE_READ_WRITE = "Operations.ReadWrite"


def permissions_for_api_app_roles(roles: Iterable[str]) -> set[str]:
    """The permissions an app holds for the API app roles in its token; unknown roles give none."""
    return {permission for role in roles for permission in API_APP_ROLE_PERMISSIONS.get(role, ())}

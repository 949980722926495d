"""Sign-in and sign-out of staff: the one place that creates users from Entra ID and syncs roles."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group, Permission, User
from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record
from portal.azure.api_tokens import ApiCaller
from portal.azure.entra import SignedInIdentity
from portal.models import StaffProfile
from portal.roles import (
    GROUP_PERMISSIONS,
    groups_for_app_roles,
    permissions_for_api_app_roles,
)


class NoPortalAccessError(Exception):
    """The person signed in correctly but holds none of the portal's app roles."""


class IdentityConflictError(Exception):
    """The person's username belongs to another account in the portal."""


def staff_sign_in(*, identity: SignedInIdentity) -> User:
    """Create or update the person's user from the ID token and set their groups from the app
    roles, so a role removed in Entra is removed here at the next sign-in.

    Raises NoPortalAccessError (after removing any groups they held) when no role maps.
    """
    group_names = groups_for_app_roles(identity.roles)
    user_model = get_user_model()
    with transaction.atomic():
        profile = (
            StaffProfile.objects.select_related("user")
            .select_for_update()
            .filter(entra_tid=identity.tid.lower(), entra_oid=identity.oid.lower())
            .first()
        )
        username = identity.username or identity.oid
        clash = user_model.objects.filter(username=username)
        if profile is not None:
            clash = clash.exclude(pk=profile.user_id)
        if clash.exists():
            raise IdentityConflictError(
                f"The portal already has a different account named {username!r}; an admin must resolve it."
            )
        if profile is None:
            user = user_model.objects.create_user(username=username)
            user.set_unusable_password()
            profile = StaffProfile(
                user=user, entra_tid=identity.tid.lower(), entra_oid=identity.oid.lower()
            )
        user = profile.user
        first, _, last = identity.name.partition(" ")
        user.username = username
        user.email = identity.username if "@" in identity.username else ""
        user.first_name, user.last_name = first[:150], last[:150]
        # Staff status opens the admin shell; what they may do there comes from the groups.
        user.is_staff = bool(group_names)
        user.is_superuser = False
        user.save()
        user.groups.set(Group.objects.filter(name__in=group_names))
        profile.last_sign_in_at = timezone.now()
        profile.save()
    if not group_names:
        raise NoPortalAccessError("You have no access to this portal.")
    return user


def role_groups_sync() -> None:
    """Give each role group exactly the permissions of portal.roles (creating what is missing).

    Migrations set the groups up; this repairs them after hand edits in the admin, and after
    a test flush has emptied the tables."""
    with transaction.atomic():
        for name, permission_names in GROUP_PERMISSIONS.items():
            group, _ = Group.objects.get_or_create(name=name)
            permissions = []
            for permission_name in permission_names:
                app_label, codename = permission_name.split(".")
                permissions.append(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
            group.permissions.set(permissions)


def staff_profile_save(
    *,
    profile: StaffProfile,
    actor: AbstractBaseUser | AnonymousUser,
    changed: list[str],
) -> StaffProfile:
    """Save a person's portal settings (from the admin) with its audit event, in one transaction."""
    creating = profile._state.adding
    with transaction.atomic():
        profile.save()
        audit_record(
            action="staff_profile.create" if creating else "staff_profile.update",
            actor=actor,
            details={
                "user": profile.user.get_username(),
                "changed": sorted(changed),
                "only_assigned_tenants": profile.only_assigned_tenants,
            },
        )
    return profile


def api_caller_user(*, caller: ApiCaller) -> User:
    """The portal user a validated API token acts as (docs/api.md).

    A person is matched by object id and their groups follow the token's app roles, as at
    sign-in (written only when they changed). An app gets a user of its own, holding exactly
    the permissions of its API app roles. Raises NoPortalAccessError when nothing maps, or the
    account was deactivated in the portal."""
    user = _api_person(caller) if caller.kind == "user" else _api_app(caller)
    if not user.is_active:
        raise NoPortalAccessError("This account is deactivated in the portal.")
    return user


def _profile(caller: ApiCaller) -> StaffProfile | None:
    return (
        StaffProfile.objects.select_related("user")
        .filter(entra_tid=caller.tid, entra_oid=caller.oid)
        .first()
    )


def _api_person(caller: ApiCaller) -> User:
    wanted = groups_for_app_roles(caller.roles)
    profile = _profile(caller)
    if profile is not None and wanted:
        held = set(profile.user.groups.values_list("name", flat=True))
        if held == wanted:
            return profile.user
    return staff_sign_in(
        identity=SignedInIdentity(
            oid=caller.oid,
            tid=caller.tid,
            name=caller.name,
            username=caller.username,
            roles=caller.roles,
        )
    )


def _permission_names(user: User) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in user.user_permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


def _api_app(caller: ApiCaller) -> User:
    wanted = permissions_for_api_app_roles(caller.roles)
    if not wanted:
        raise NoPortalAccessError(
            "The calling app holds none of the portal API's app roles "
            "(Fleet.Read, Operations.Request, Operations.Approve)."
        )
    profile = _profile(caller)
    if profile is not None and _permission_names(profile.user) == wanted:
        return profile.user
    with transaction.atomic():
        if profile is None:
            user = get_user_model().objects.create_user(username=f"app:{caller.client_id}"[:150])
            user.set_unusable_password()
            user.first_name = "App"
            user.save()
            profile = StaffProfile.objects.create(
                user=user, entra_tid=caller.tid, entra_oid=caller.oid
            )
        user = profile.user
        permissions = []
        for name in sorted(wanted):
            app_label, codename = name.split(".")
            permissions.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        user.user_permissions.set(permissions)
        audit_record(
            action="api.app_permissions",
            actor=user,
            details={
                "client_id": caller.client_id,
                "roles": sorted(caller.roles),
                "permissions": sorted(wanted),
            },
        )
    return user

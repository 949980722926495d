"""Who gets what, and on which channels: the people each happening concerns, turned into
delivery targets through their preferences."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db.models import Q, QuerySet

from notifications.models import Delivery, NotificationPreference
from portal.roles import ADMINS, APPROVE_OPERATION


def people_with_permission(permission: str) -> QuerySet[User]:
    """Active people holding the permission through a group or directly. Superusers are left
    out on purpose: the only one is the break-glass account, not a person to page."""
    app_label, codename = permission.split(".")
    grant = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__permissions__in=grant) | Q(user_permissions__in=grant))
        .distinct()
    )


def approvers_of(requester_id: int) -> QuerySet[User]:
    """Everyone who may approve, except the requester (who may not approve their own)."""
    return people_with_permission(APPROVE_OPERATION).exclude(pk=requester_id)


def admins() -> QuerySet[User]:
    return User.objects.filter(is_active=True, groups__name=ADMINS).distinct()


@dataclass
class Target:
    channel: str
    address: str
    people: list[User] = field(default_factory=list)


def targets_for(people: Iterable[User]) -> list[Target]:
    """One target per distinct address or channel: three people watching the same Teams
    channel get one card there, not three."""
    people = list(people)
    chosen = {
        preference.person_id: preference
        for preference in NotificationPreference.objects.filter(person__in=people)
    }
    targets: dict[tuple[str, str], Target] = {}
    for person in people:
        preference = chosen.get(person.pk) or NotificationPreference(person=person)
        addresses = []
        if preference.by_email and person.email:
            addresses.append((Delivery.Channel.EMAIL.value, person.email.strip().lower()))
        webhook = preference.teams_webhook_url or settings.NOTIFY_TEAMS_WEBHOOK_URL
        if preference.by_teams and webhook:
            addresses.append((Delivery.Channel.TEAMS.value, webhook))
        for key in addresses:
            targets.setdefault(key, Target(*key)).people.append(person)
    return list(targets.values())

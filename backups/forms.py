"""The restore form and the signed confirmation that carries it to the second POST."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.models import User
from django.core import signing

from backups.models import RestoreSnapshot
from backups.restore_time import FORMATS_SHOWN, describe
from backups.services import RestorePlan, RestoreRequest
from portal.times import portal_zone
from tenants.models import Tenant

CONFIRMATION_SALT = "backups.restore-confirmation"
CONFIRMATION_MAX_AGE_SECONDS = 15 * 60


def reading_value(moment: datetime) -> str:
    """A UTC instant as the time field takes it, ISO with a space (seconds only when there
    are some)."""
    utc = moment.astimezone(UTC)
    return f"{utc:%Y-%m-%d %H:%M}" if utc.second == 0 else f"{utc:%Y-%m-%d %H:%M:%S}"


class RestoreForm(forms.Form):
    """What a person asks for, as typed. The time is parsed and judged by `restore_plan`, so
    its refusals (window, daylight saving) read the same from the form and the command line."""

    mode = forms.ChoiceField(
        choices=(
            ("parallel", "In parallel: a new copy beside the live database, which stays untouched"),
            ("in_place", "In place: swap the restored copy in as the live database"),
        ),
        widget=forms.RadioSelect,
        initial="parallel",
    )
    source = forms.ChoiceField(
        choices=(
            ("point_in_time", "A point in time"),
            ("long_term_backup", "A long-term backup"),
            ("deleted_database", "A deleted database"),
        ),
        widget=forms.RadioSelect,
        initial="point_in_time",
    )
    # A plain text field: a browser's datetime-local picker follows the browser's locale
    # (12-hour, month first in a US build), which is how wrong restore times get typed.
    when = forms.CharField(
        label="Time",
        required=False,
        help_text=f"{FORMATS_SHOWN}.",
        widget=forms.TextInput(
            attrs={
                "placeholder": "02/12/2026 05:54",
                "autocomplete": "off",
                "spellcheck": "false",
                "size": 22,
            }
        ),
    )
    zone = forms.ChoiceField(
        label="The time is",
        choices=(("local", "local"), ("utc", "UTC")),
        widget=forms.RadioSelect,
        initial="local",
    )
    long_term_backup_id = forms.CharField(label="Long-term backup", required=False)
    dropped_database_id = forms.CharField(label="Deleted database", required=False)
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        max_length=2000,
        help_text="Why: it goes into the audit trail.",
    )
    ticket = forms.CharField(required=False, max_length=100)

    def __init__(self, *args: Any, snapshot: RestoreSnapshot | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = portal_zone()
        zone_field = self.fields["zone"]
        assert isinstance(zone_field, forms.ChoiceField)  # noqa: S101 - declared above
        zone_field.choices = (("local", f"local ({zone.key})"), ("utc", "UTC"))
        backups = snapshot.long_term_backups if snapshot else []
        dropped = snapshot.dropped_databases if snapshot else []
        self.fields["long_term_backup_id"].widget = forms.Select(
            choices=[("", "—")] + [(b["id"], _backup_label(b, zone)) for b in backups]
        )
        self.fields["dropped_database_id"].widget = forms.Select(
            choices=[("", "—")]
            + [
                (
                    d["id"],
                    f"{d['name']}, deleted {describe(datetime.fromisoformat(d['deleted_at']), zone)}",
                )
                for d in dropped
            ]
        )

    def restore_request(self) -> RestoreRequest:
        data = self.cleaned_data
        return RestoreRequest(
            mode=data["mode"],
            source=data["source"],
            when=data["when"],
            in_utc=data["zone"] == "utc",
            long_term_backup_id=data["long_term_backup_id"],
            dropped_database_id=data["dropped_database_id"],
        )


@dataclass(frozen=True)
class Confirmation:
    """A checked plan as shown to the person, signed so the confirming POST cannot alter it."""

    request: RestoreRequest
    reason: str
    ticket: str
    checks: list[tuple[str, str]]
    steps: list[str]
    needs_approval: bool

    @classmethod
    def of(cls, plan: RestorePlan, *, reason: str, ticket: str) -> Confirmation:
        return cls(
            request=plan.request,
            reason=reason,
            ticket=ticket,
            checks=list(plan.checks),
            steps=list(plan.steps),
            needs_approval=plan.needs_approval,
        )

    def sign(self, *, tenant: Tenant, user: User) -> str:
        payload = {
            "tenant": tenant.slug,
            "user": user.pk,
            "request": asdict(self.request),
            "reason": self.reason,
            "ticket": self.ticket,
            "checks": [list(check) for check in self.checks],
            "steps": self.steps,
            "needs_approval": self.needs_approval,
        }
        return signing.dumps(payload, salt=CONFIRMATION_SALT, compress=True)

    @classmethod
    def unsign(cls, token: str, *, tenant: Tenant, user: User) -> Confirmation:
        """Raises signing.BadSignature (SignatureExpired after 15 minutes) when it is not
        the plan this person was shown for this tenant."""
        payload = signing.loads(token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE_SECONDS)
        if payload.get("tenant") != tenant.slug or payload.get("user") != user.pk:
            raise signing.BadSignature("The confirmation belongs to another tenant or person.")
        return cls(
            request=RestoreRequest(**payload["request"]),
            reason=payload["reason"],
            ticket=payload["ticket"],
            checks=[(what, finding) for what, finding in payload["checks"]],
            steps=list(payload["steps"]),
            needs_approval=bool(payload["needs_approval"]),
        )


def _backup_label(backup: dict[str, Any], zone: ZoneInfo) -> str:
    """The backup's time, and the database it was taken of (after an in-place restore, older
    backups may be under a kept pre-restore database's name)."""
    label = describe(datetime.fromisoformat(backup["backup_time"]), zone)
    return f"{label} of {backup['database_name']}" if backup.get("database_name") else label

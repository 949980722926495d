"""The restore plan token: what `POST /restores/plan` hands back and `POST /restores` needs.

Signed with the portal's secret key, it binds the caller, the tenant and a digest of every
input of the plan, and expires as the UI's signed confirmation does. The second call sends the
inputs again; anything different from what was planned (or another caller, or another tenant)
is refused, so what is requested is exactly what was checked and shown.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import User
from django.core import signing
from django.utils import timezone

from api.problems import FieldError, Problem
from api.schemas import RestoreIn

SALT = "api.restore-plan"
# As long as the UI's signed confirmation (backups/forms.py) lives.
LIFETIME = timedelta(minutes=15)


def _digest(inputs: RestoreIn) -> str:
    fields = inputs.model_dump(include=set(RestoreIn.model_fields))
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()


def plan_token_issue(*, user: User, inputs: RestoreIn) -> tuple[str, datetime]:
    payload = {"user": user.pk, "tenant": inputs.tenant, "inputs": _digest(inputs)}
    return signing.dumps(payload, salt=SALT), timezone.now() + LIFETIME


def _refused(kind: str, detail: str) -> Problem:
    return Problem(409, kind, detail, errors=[FieldError("plan_token", detail)])


def plan_token_check(*, token: str, user: User, inputs: RestoreIn) -> None:
    """Raises a Problem unless `token` is this caller's unexpired plan of exactly `inputs`."""
    try:
        payload: dict[str, Any] = signing.loads(token, salt=SALT, max_age=LIFETIME)
    except signing.SignatureExpired as exc:
        raise _refused(
            "plan-expired",
            f"The plan is older than {int(LIFETIME.total_seconds() // 60)} minutes; "
            "ask for a new plan.",
        ) from exc
    except signing.BadSignature as exc:
        raise Problem(
            422,
            "validation",
            "The plan token is not one this portal issued.",
            errors=[FieldError("plan_token", "Not a plan token this portal issued.")],
        ) from exc
    if payload.get("user") != user.pk:
        raise _refused("plan-mismatch", "The plan was made for another caller.")
    if payload.get("tenant") != inputs.tenant:
        raise _refused("plan-mismatch", "The plan was made for another tenant.")
    if payload.get("inputs") != _digest(inputs):
        raise _refused(
            "plan-mismatch",
            "The restore's inputs differ from the plan's; ask for a new plan with these inputs.",
        )

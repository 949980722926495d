"""Sending one delivery: e-mail through Django's mail framework, Teams through an incoming
webhook with an Adaptive Card. Failures are sorted into transient (try again) and permanent."""

from __future__ import annotations

import json
import smtplib
import urllib.error
import urllib.request
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from notifications.models import Delivery


class TransientDeliveryError(Exception):
    """Worth another attempt later: the server was unreachable, busy or throttling."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(Exception):
    """Another attempt would fail the same way: a refused address, a deleted webhook."""


def send(delivery: Delivery) -> None:
    if delivery.channel == Delivery.Channel.EMAIL:
        _send_email(delivery)
    else:
        _post_card(delivery)


def email_text(delivery: Delivery) -> str:
    lines = [delivery.body, ""]
    lines += [f"{label}: {value}" for label, value in delivery.facts]
    if delivery.link:
        lines += ["", f"Open in Fleetwise Ops: {delivery.link}"]
    return "\n".join(lines).strip() + "\n"


def _send_email(delivery: Delivery) -> None:
    message = EmailMessage(
        subject=delivery.subject,
        body=email_text(delivery),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.target],
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentDeliveryError(f"The mail server refused {delivery.target}.") from exc
    except smtplib.SMTPResponseException as exc:
        # 5xx replies are final (RFC 5321 §4.2.1); 4xx ask the sender to try again.
        text = f"The mail server answered {exc.smtp_code}: {exc.smtp_error!r}"
        if exc.smtp_code >= 500:
            raise PermanentDeliveryError(text) from exc
        raise TransientDeliveryError(text) from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TransientDeliveryError(f"The mail server could not be reached: {exc}") from exc


def adaptive_card(delivery: Delivery) -> dict[str, Any]:
    """The message an incoming webhook posts: one Adaptive Card with a link back to the portal."""
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": delivery.subject, "weight": "Bolder", "size": "Medium",
         "wrap": True},
        {"type": "TextBlock", "text": delivery.body, "wrap": True},
    ]  # fmt: skip
    if delivery.facts:
        body.append(
            {
                "type": "FactSet",
                "facts": [{"title": label, "value": value} for label, value in delivery.facts],
            }
        )
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    if delivery.link:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Open in Fleetwise Ops", "url": delivery.link}
        ]
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _post_card(delivery: Delivery) -> None:
    url = delivery.target
    if urlsplit(url).scheme not in ("https", "http"):
        raise PermanentDeliveryError(f"{url!r} is not an http(s) webhook URL.")
    request = urllib.request.Request(  # noqa: S310  (scheme checked above)
        url,
        data=json.dumps(adaptive_card(delivery)).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(  # noqa: S310  (scheme checked above)
            request, timeout=settings.NOTIFY_WEBHOOK_TIMEOUT
        ) as response:
            response.read(1024)
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode(errors="replace").strip()
        text = f"The webhook answered HTTP {exc.code}" + (f": {detail}" if detail else "")
        # Teams throttles with 429 (and Retry-After); 5xx are the service's own trouble.
        if exc.code == 429 or exc.code >= 500:
            raise TransientDeliveryError(text, retry_after=_retry_after(exc)) from exc
        raise PermanentDeliveryError(text) from exc
    except (urllib.error.URLError, OSError) as exc:
        raise TransientDeliveryError(f"The webhook could not be reached: {exc}") from exc


def _retry_after(exc: urllib.error.HTTPError) -> float | None:
    value = exc.headers.get("Retry-After") if exc.headers else None
    try:
        return float(value) if value else None
    except ValueError:
        return None

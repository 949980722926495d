from __future__ import annotations

from django import forms

from notifications.models import NotificationPreference


class PreferenceForm(forms.ModelForm[NotificationPreference]):
    teams_webhook_url = forms.URLField(
        required=False,
        max_length=600,
        assume_scheme="https",
        label="Your Teams channel's webhook URL",
        help_text=(
            "Optional: the incoming webhook of a channel you watch (in Teams: the channel's "
            "Workflows, “Post to a channel when a webhook request is received”). "
            "Blank: the portal's shared operations channel."
        ),
    )

    class Meta:
        model = NotificationPreference
        fields = ("by_email", "by_teams", "teams_webhook_url")
        labels = {"by_email": "By e-mail", "by_teams": "In Microsoft Teams"}

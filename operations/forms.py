from __future__ import annotations

from django import forms


class RejectForm(forms.Form):
    """Turning a request down needs a reason: the requester is told it."""

    reason = forms.CharField(
        label="Reason for rejecting",
        widget=forms.Textarea(attrs={"rows": 2, "cols": 40}),
        max_length=2000,
        error_messages={"required": "Say why you reject it: the requester is told."},
    )

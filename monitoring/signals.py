"""Signals other apps listen to, so monitoring does not need to know them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent after a fleet backups refresh (scheduled, or the catch-up after start-up) wrote its
# snapshots, with `run=<RefreshRun>`: the newest geo backups are known from here on.
backups_refreshed = Signal()

"""Fleetwise's embedded Azure: an HTTPS service the official Azure SDKs and MSAL talk to.

Standalone on purpose: it must not import Django or anything from ``portal``. See README.md.
"""

from __future__ import annotations

__all__: list[str] = []

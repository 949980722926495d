"""Signals other apps listen to, so the engine does not need to know them."""

from __future__ import annotations

from django.dispatch import Signal

# Sent inside the transaction that finishes an operation (any final state), with
# `operation=<Operation>`. Receivers that start work must do it in transaction.on_commit.
operation_finished = Signal()

"""Lock keys and admission slots: what the database lets only a bounded number of operations hold.

Both are rows under a unique constraint, so the check and the taking are one INSERT: two workers
(or eight, on any database) cannot both succeed. Callers run these inside the transaction that
changes the operation's state, so a state and its claims commit or vanish together.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from operations.kinds import Limit
from operations.models import AdmissionSlot, Operation, OperationLock


class LockHeldError(Exception):
    """A lock key is held by another operation (`holder`, None if it finished meanwhile)."""

    def __init__(self, key: str, holder: Operation | None) -> None:
        super().__init__(key)
        self.key = key
        self.holder = holder


def locks_take(operation: Operation, keys: list[str]) -> None:
    """Take every key or none (the caller's transaction rolls back on LockHeldError)."""
    for key in dict.fromkeys(keys):
        try:
            with transaction.atomic():
                OperationLock.objects.create(key=key, operation=operation)
        except IntegrityError:
            holder = OperationLock.objects.filter(key=key).select_related("operation").first()
            raise LockHeldError(key, holder.operation if holder else None) from None


def slots_take(operation: Operation, limits: list[Limit]) -> str | None:
    """Take a slot of every limit (all of them for a `whole` limit), or none and say why.

    Must run inside a transaction: on refusal the caller rolls back the slots taken so far.
    """
    for limit in limits:
        if not _slot_take(operation, limit):
            return f"{limit.capacity} {limit.says} already run; it starts when one finishes."
    return None


def _slot_take(operation: Operation, limit: Limit) -> bool:
    taken = set(AdmissionSlot.objects.filter(key=limit.key).values_list("slot", flat=True))
    if limit.whole:
        return not taken and all(
            _slot_insert(operation, limit.key, slot) for slot in range(limit.capacity)
        )
    return any(
        _slot_insert(operation, limit.key, slot)
        for slot in range(limit.capacity)
        if slot not in taken
    )


def _slot_insert(operation: Operation, key: str, slot: int) -> bool:
    try:
        # The savepoint keeps a lost race from spoiling the caller's transaction.
        with transaction.atomic():
            AdmissionSlot.objects.create(key=key, slot=slot, operation=operation)
    except IntegrityError:
        return False
    return True


def claims_release(operation: Operation) -> None:
    """Release everything the operation holds (in the transaction that finishes it)."""
    OperationLock.objects.filter(operation=operation).delete()
    AdmissionSlot.objects.filter(operation=operation).delete()

"""The registry of operation kinds. Apps register theirs (restores live in backups/) in ready()."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from operations.engine import StepContext
    from operations.models import Operation


@dataclass(frozen=True)
class Step:
    """One step: `run` must be idempotent (it may run again after a crash, and must then find
    what it already did); `undo` reverses it when a later step fails."""

    key: str
    label: str
    run: Callable[[StepContext], str]
    undo: Callable[[StepContext], str] | None = None
    # Whether a person may cancel while this step runs (never in the middle of a swap).
    cancellable: bool = True


@dataclass(frozen=True)
class OperationKind:
    name: str
    label: str
    # The permission a person needs to request it.
    permission: str
    needs_approval: Callable[[], bool]
    plan: Callable[[Operation], list[Step]]
    # Why the operation must wait before starting (a concurrency limit), or None to start.
    admit: Callable[[Operation], str | None] = field(default=lambda operation: None)
    # Stops work already under way in Azure when a running operation is cancelled.
    cancel_running: Callable[[StepContext], str] | None = None
    # Words for the tenant's state when the operation fails before any undo is needed.
    untouched_outcome: str = "Nothing was changed in Azure."


_KINDS: dict[str, OperationKind] = {}


def register(kind: OperationKind) -> None:
    _KINDS[kind.name] = kind


def kind_of(name: str) -> OperationKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"Unknown operation kind {name!r}") from None


def all_kinds() -> list[OperationKind]:
    return list(_KINDS.values())

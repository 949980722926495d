"""The registry of operation kinds. Apps register theirs (restores live in backups/) in ready().

A kind is data: its parameters (a frozen dataclass), its plan of steps, the subject it acts on,
the lock keys and concurrency limits it needs. Adding a kind touches no engine code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from operations.engine import StepContext
    from operations.models import Operation


@dataclass(frozen=True)
class Wait:
    """What a step returns when Azure is not done yet: the engine records `message`, releases
    the worker and visits the step again in `seconds` (not counted as an attempt)."""

    seconds: float
    message: str


StepResult = str | Wait


@dataclass(frozen=True)
class Step:
    """One step: `run` must be idempotent (it may run again after a crash, and must then find
    what it already did); `undo` reverses it when a later step fails."""

    key: str
    label: str
    run: Callable[[StepContext], StepResult]
    undo: Callable[[StepContext], str] | None = None
    # Whether a person may cancel while this step runs (never in the middle of a swap).
    cancellable: bool = True


@dataclass(frozen=True)
class Subject:
    """What an operation acts on, as pages and the audit trail show it."""

    type: str  # Operation.Subject
    id: str  # a tenant's slug, else an ARM resource id, a region name or "fleet"
    label: str

    @property
    def lock_key(self) -> str:
        return f"{self.type}:{self.id.lower()}"


@dataclass(frozen=True)
class Limit:
    """A concurrency limit an operation needs while it runs: at most `capacity` operations hold
    one of the key's slots. `whole` takes every slot (a pool scale excludes all restores into
    the pool, and they it). `says` completes "… already run" in the waiting message."""

    key: str
    capacity: int
    says: str
    whole: bool = False


@dataclass(frozen=True)
class NoParameters:
    """For kinds that need none."""


def _no_limits(parameters: Any) -> list[Limit]:
    return []


@dataclass(frozen=True)
class OperationKind:
    name: str
    label: str
    # The permission a person needs to request it.
    permission: str
    needs_approval: Callable[[], bool]
    plan: Callable[[Operation], list[Step]]
    # A frozen dataclass; `operation_request` builds it from what it is given and stores it.
    parameters: type[Any] = NoParameters
    # Extra lock keys beyond the subject's own (e.g. a server-key rotation locks its server).
    extra_locks: Callable[[Any], list[str]] = field(default=lambda parameters: [])
    # Concurrency limits taken in one atomic step when the operation starts running.
    limits: Callable[[Any], list[Limit]] = _no_limits
    # Stops work already under way in Azure when a running operation is cancelled.
    cancel_running: Callable[[StepContext], str] | None = None
    # Words for the subject's state when the operation fails before any undo is needed.
    untouched_outcome: str = "Nothing was changed in Azure."
    # Whether a person may pause it between steps (fleet parents; never a restore's swap).
    pausable: bool = False
    # A parent woken when each child finishes (children_supervise counts the active ones). A
    # parent that hands out admission slots sets False: a child that gave its slots back
    # early (`StepContext.limits_release`) woke it then and does not wake it again.
    woken_by_finishing_children: bool = True

    def parameters_from(self, values: Any) -> Any:
        """The typed parameters from a dataclass or from the row's JSON (unknown keys refused)."""
        if isinstance(values, self.parameters):
            return values
        if not isinstance(values, dict):
            raise TypeError(f"{self.name} takes {self.parameters.__name__}, not {values!r}")
        return self.parameters(**values)

    def parameters_json(self, values: Any) -> dict[str, Any]:
        return dataclasses.asdict(self.parameters_from(values))


_KINDS: dict[str, OperationKind] = {}


def register(kind: OperationKind) -> None:
    _KINDS[kind.name] = kind


def unregister(name: str) -> None:
    _KINDS.pop(name, None)


@contextmanager
def registered(*kinds: OperationKind) -> Iterator[None]:
    """Kinds registered for the duration of a block (tests' own kinds leave no trace)."""
    for kind in kinds:
        register(kind)
    try:
        yield
    finally:
        for kind in kinds:
            unregister(kind.name)


def kind_of(name: str) -> OperationKind:
    try:
        return _KINDS[name]
    except KeyError:
        raise LookupError(f"Unknown operation kind {name!r}") from None


def all_kinds() -> list[OperationKind]:
    return list(_KINDS.values())

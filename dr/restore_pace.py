"""When a child looks at its running geo-restore again.

A restore slot stays held from the moment Azure finishes a restore until the child looks and
gives it back; only then can the parent start the next tenant. Looking every
`OPERATIONS_WAIT_SECONDS` leaves the slot idle half an interval on average, and each look costs
a visit. The children of one fleet operation restore the same kind of database into the same
pools, so the siblings already done say when this restore is likely to end: the child sleeps
until then (never longer than the usual interval, so a restore that ends early is seen as
promptly as before), and once past it looks at short intervals that grow with the overrun.
"""

from __future__ import annotations

from operations.context import StepContext
from operations.models import OperationStep

# How many of the most recently finished siblings the estimate reads. Their shortest restore
# step is the estimate: each one's length includes how late its child looked, and the shortest
# is the one that looked soonest.
SAMPLE = 8
# Past the expected end, never look more often than this share of the expected length (nor
# more often than MIN_LOOK_SECONDS): a restore of hours is not looked at every second.
OVERRUN_SHARE = 0.02
MIN_LOOK_SECONDS = 0.2


def sibling_restore_seconds(context: StepContext) -> float | None:
    """How long the same step (key and label) took in the parent's most recently finished
    children (None for an operation without a parent, or before any sibling finished it)."""
    parent_id = context.operation.parent_id
    if parent_id is None:
        return None
    rows = (
        OperationStep.objects.filter(
            operation__parent_id=parent_id,
            # The same step of the same plan: a failover by replication link has a step
            # "restore" too, but its work (and length) is another.
            key=context.step.key,
            label=context.step.label,
            state=OperationStep.State.SUCCEEDED,
            started_at__isnull=False,
            finished_at__isnull=False,
        )
        .order_by("-finished_at")
        .values_list("started_at", "finished_at")[:SAMPLE]
    )
    lengths = [
        (finished - started).total_seconds()
        for started, finished in rows
        if started is not None and finished is not None
    ]
    return min(lengths) if lengths else None


def next_look_seconds(*, elapsed: float, expected: float | None, longest: float) -> float:
    """Seconds until the next look at a restore `elapsed` seconds into its step.

    Without an expectation: `longest` (the usual interval). Before the expected end: until it
    (at most `longest`). Past it: half the overrun so far, at least a small share of the
    expected length, at most `longest`."""
    if expected is None:
        return longest
    floor = max(MIN_LOOK_SECONDS, expected * OVERRUN_SHARE)
    remaining = expected - elapsed
    wait = remaining if remaining > 0 else -remaining / 2
    return min(longest, max(floor, wait))

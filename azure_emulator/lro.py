"""Long-running operations the way ARM runs them (docs/azure-behaviours.md §0.5).

An LRO is a row in the ``operations`` table with a start and a due time. Nothing runs in the
background: every request first calls :func:`settle`, which completes the operations whose time
has come by calling their *finalizer*. Because completion is computed from stored timestamps, an
operation started before a restart completes after it just the same.

A provider starts one with :func:`start` and registers what completion does with
:func:`finalizer`. Finalizers get ``succeeded=False`` when fault injection made the operation
fail midway; they then undo the provisional state (e.g. remove a half-restored database).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from starlette.responses import JSONResponse, Response

from azure_emulator.arm import ArmRequest, Router, respond
from azure_emulator.errors import ArmError
from azure_emulator.state import JSON, isoformat, parse_time, public

if TYPE_CHECKING:
    from azure_emulator.runtime import Emulator

log = logging.getLogger(__name__)

Finalizer = Callable[["Emulator", JSON, bool], JSON | None]
_FINALIZERS: dict[str, Finalizer] = {}

TABLE = "operations"


def finalizer(name: str) -> Callable[[Finalizer], Finalizer]:
    """Register the completion step of an LRO kind (name it ``<provider>.<what>``).

    It is called once, under the store lock, with the operation row and whether the operation
    succeeded; it may return a result body (served by the ``Location`` poll) and may raise
    :class:`ArmError` to turn the completion into a failure with that code and message.
    """

    def register(fn: Finalizer) -> Finalizer:
        _FINALIZERS[name] = fn
        return fn

    return register


def start(
    req: ArmRequest,
    *,
    finalize: str,
    resource_id: str,
    location: str,
    args: JSON | None = None,
    body: JSON | None = None,
    status: int = 202,
    namespace: str = "Microsoft.Sql",
    status_kind: str = "database",
    labels: JSON | None = None,
    delay_seconds: float = 0.0,
) -> Response:
    """Record an LRO and answer the initial request the way ARM does.

    ``status`` is 201 for a PUT that creates, 202 otherwise; ``body`` is the resource in its
    transitional state (or None for an empty 202). ``labels`` are free-form facts other code can
    count running operations by (e.g. ``{"restore": true, "pool": <id>}``). ``delay_seconds`` is
    time spent queued before the work starts (Azure's restore queue).
    """
    emulator = req.emulator
    now = emulator.store.now()
    duration = emulator.lro_seconds(req.operation) + max(0.0, delay_seconds)
    op_id = str(uuid.uuid4())
    injected = emulator.faults.take_lro_failure(req.operation)
    sub = resource_id.split("/")[2] if resource_id.lower().startswith("/subscriptions/") else ""
    region = location.replace(" ", "").lower()
    status_path = f"/subscriptions/{sub}/providers/{namespace}/locations/{region}"
    row: JSON = {
        "id": op_id,
        "operation": req.operation,
        "finalize": finalize,
        "resource_id": resource_id,
        "location": location,
        "subscription": sub,
        "method": req.method,
        "status": "InProgress",
        "started": isoformat(now),
        "due": isoformat(now + timedelta(seconds=duration)),
        "fail_at": isoformat(now + timedelta(seconds=duration / 2)) if injected else None,
        "injected_error": {"code": injected.code, "message": injected.message}
        if injected
        else None,
        "error": None,
        "result": None,
        "args": args or {},
        "labels": labels or {},
        "async_url": req.url(f"{status_path}/{status_kind}AzureAsyncOperation/{op_id}"),
        "location_url": req.url(f"{status_path}/{status_kind}OperationResults/{op_id}"),
    }
    with emulator.store.lock:
        emulator.store.table(TABLE)[op_id] = row
        emulator.store.touch()
    headers = {
        "Azure-AsyncOperation": row["async_url"],
        "Location": row["location_url"],
        # Without it ARMPolling waits its 30 s default between polls.
        "Retry-After": "1",
    }
    if duration <= 0:
        settle(emulator)
    return respond(body, status, headers)


def running(emulator: Emulator, **labels: Any) -> list[JSON]:
    """In-progress operations whose labels include all of ``labels`` (compared case-insensitively)."""
    settle(emulator)

    def same(a: Any, b: Any) -> bool:
        return a.lower() == b.lower() if isinstance(a, str) and isinstance(b, str) else bool(a == b)

    return [
        row
        for row in emulator.store.table(TABLE).values()
        if row["status"] == "InProgress"
        and all(same(row["labels"].get(k), v) for k, v in labels.items())
    ]


def settle(emulator: Emulator) -> int:
    """Complete every operation whose due (or injected failure) time has passed."""
    store = emulator.store
    now = store.now()
    completed = 0
    with store.lock:
        table = store.table(TABLE)
        for row in list(table.values()):
            if row["status"] != "InProgress":
                continue
            fail_at = parse_time(row["fail_at"]) if row.get("fail_at") else None
            if fail_at is not None and fail_at <= now:
                _complete(emulator, row, succeeded=False, error=row["injected_error"])
            elif parse_time(row["due"]) <= now:
                _complete(emulator, row, succeeded=True, error=None)
            else:
                continue
            completed += 1
        if completed:
            store.touch()
    return completed


def _complete(emulator: Emulator, row: JSON, *, succeeded: bool, error: JSON | None) -> None:
    fn = _FINALIZERS.get(row["finalize"])
    result: JSON | None = None
    try:
        if fn is not None:
            result = fn(emulator, row, succeeded)
    except ArmError as exc:
        succeeded, error = False, exc.as_dict()
        if fn is not None:
            try:
                fn(emulator, row, False)
            except ArmError:
                log.exception("finalizer %s failed while undoing", row["finalize"])
    row["status"] = "Succeeded" if succeeded else "Failed"
    row["error"] = None if succeeded else error
    row["result"] = public(result) if result is not None else None
    row["ended"] = isoformat(emulator.store.now())


def cancel(emulator: Emulator, row: JSON, *, reason: str) -> None:
    """End a running operation as Canceled (its finalizer undoes the provisional state), as
    Azure does when, say, the database being restored is deleted."""
    with emulator.store.lock:
        if row["status"] != "InProgress":
            return
        fn = _FINALIZERS.get(row["finalize"])
        if fn is not None:
            fn(emulator, row, False)
        row["status"] = "Canceled"
        row["error"] = {"code": "OperationCancelled", "message": reason}
        row["result"] = None
        row["ended"] = isoformat(emulator.store.now())
        emulator.store.touch()


def _status_body(row: JSON) -> JSON:
    body: JSON = {"name": row["id"], "status": row["status"], "startTime": row["started"]}
    if row.get("ended"):
        body["endTime"] = row["ended"]
    if row["status"] in ("Failed", "Canceled"):
        body["error"] = row["error"]
    return body


router = Router()


@router.route(
    "GET",
    "/subscriptions/{subscription}/providers/{namespace}/locations/{location}/{kind}/{op_id}",
    "operations.status",
    outage_exempt=True,
)
def operation_status(req: ArmRequest) -> Response:
    """Both poll URLs: ``*AzureAsyncOperation`` (status body) and ``*OperationResults`` (202/200)."""
    kind = req.params["kind"].lower()
    row = req.store.table(TABLE).get(req.params["op_id"].lower())
    if row is None or not (
        kind.endswith("azureasyncoperation") or kind.endswith("operationresults")
    ):
        raise ArmError(
            404,
            "ResourceNotFound",
            f"The operation '{req.params['op_id']}' was not found.",
        )
    if kind.endswith("azureasyncoperation"):
        headers = {"Retry-After": "1"} if row["status"] == "InProgress" else {}
        return JSONResponse(_status_body(row), headers=headers)
    if row["status"] == "InProgress":
        return Response(
            status_code=202, headers={"Location": row["location_url"], "Retry-After": "1"}
        )
    if row["status"] in ("Failed", "Canceled"):
        error = row["error"] or {"code": "InternalServerError", "message": "Operation failed."}
        return JSONResponse({"error": error}, status_code=400)
    if row["result"] is None:
        return Response(status_code=204)
    return JSONResponse(row["result"])

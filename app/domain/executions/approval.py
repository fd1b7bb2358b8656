"""Approval steps: wait in ``waiting_approval`` until someone decides, the timeout rejects, or cancel."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING

from sqlalchemy import select

from app.db.models.executions import ExecutionStep
from app.domain.notifications import notify_approval_requested
from app.domain.pipelines.plan import PlannedStep

if TYPE_CHECKING:
    from app.domain.executions.engine import ExecutionRun

POLL_S = 0.5


async def wait_for_approval(run: ExecutionRun, planned: PlannedStep) -> None:
    approval = planned.spec.approval
    assert approval is not None
    name = planned.name
    if run.statuses.get(name) != "waiting_approval":
        await run.change(name, "waiting_approval", attempt=1)
        await run.system(
            f"step {name} waits for approval by a {approval.role} or above"
            + (f" (times out after {approval.timeout:g}s)" if approval.timeout else ""),
            name,
        )
        await notify_approval_requested(run.rt, run.execution, name, approval.role)
    deadline = time.monotonic() + approval.timeout if approval.timeout else None
    cancel = run.cancel_events[name]
    while True:
        async with run.rt.sessionmaker() as session:
            row = (
                await session.execute(
                    select(ExecutionStep.status, ExecutionStep.message).where(ExecutionStep.id == run.step_ids[name])
                )
            ).one()
        status, message = row
        if status != "waiting_approval":  # decided through the API, which made the transition
            run.statuses[name] = status
            await run.system(f"step {name} {message or status}", name)
            return
        if cancel.is_set():
            status = "timed_out" if run.stop_reason == "timed_out" else "cancelled"
            await run.change(name, status)
            return
        if deadline is not None and time.monotonic() >= deadline:
            await run.system(f"approval timed out after {approval.timeout:g}s: rejected", name)
            await run.change(name, "failed", message="approval timed out")
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(cancel.wait(), POLL_S)

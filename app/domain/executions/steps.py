"""One step on the worker: attempts with retries and delays, timeouts from the step and the execution."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import TYPE_CHECKING, Any

from app.domain.executions.approval import wait_for_approval
from app.domain.executions.stepenv import step_environment
from app.domain.pipelines.plan import PlannedStep
from app.domain.runners.base import StepContext, StepOutcome
from app.domain.runners.registry import RUNNERS

if TYPE_CHECKING:
    from app.domain.executions.engine import ExecutionRun


async def run_step(run: ExecutionRun, planned: PlannedStep, secrets: dict[str, str], deadline: float | None) -> None:
    """Run a step to its final status: approvals wait, other kinds retry up to ``retries`` times."""
    if planned.kind == "approval":
        await wait_for_approval(run, planned)
        return
    spec = planned.spec
    attempts = spec.retries + 1
    outcome = StepOutcome(status="failed", message="not run")
    for attempt in range(1, attempts + 1):
        await run.change(planned.name, "running", attempt=attempt)
        await run.system(f"step {planned.name}: attempt {attempt} of {attempts}", planned.name)
        outcome = await run_attempt(run, planned, secrets, deadline)
        if outcome.status == "success" or outcome.status == "cancelled" or run.stop_reason:
            break
        if attempt < attempts:
            await run.system(
                f"step {planned.name}: attempt {attempt} {outcome.status}"
                f"{f' (exit {outcome.exit_code})' if outcome.exit_code is not None else ''}; "
                f"retrying in {spec.retry_delay:g}s",
                planned.name,
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.cancel_events[planned.name].wait(), spec.retry_delay)
            if run.stop_reason:
                break
    status = outcome.status
    if run.stop_reason == "timed_out" and status == "cancelled":
        status = "timed_out"
    summary = f"step {planned.name} {status}" + (f" (exit {outcome.exit_code})" if outcome.exit_code else "")
    await run.system(summary, planned.name)  # runners already logged their reason
    await run.change(planned.name, status, exit_code=outcome.exit_code, message=outcome.message)


async def run_attempt(
    run: ExecutionRun, planned: PlannedStep, secrets: dict[str, str], deadline: float | None
) -> StepOutcome:
    """One attempt through the kind's runner; the step's timeout is capped by the execution's deadline."""
    spec = planned.spec
    timeout = spec.timeout or run.default_step_timeout
    if deadline is not None:
        left = max(deadline - time.monotonic(), 0.0)
        timeout = left if timeout is None else min(timeout, left)
    event = run.cancel_events[planned.name]
    if not run.stop_reason:
        event.clear()
    ctx = StepContext(
        execution_id=str(run.id),
        step_name=planned.name,
        workspace=run.workspace,
        env=step_environment(run.execution, run.spec, planned, run.workspace, secrets),
        timeout_s=timeout,
        secrets=secrets,
        cancel=event,
    )
    assert run.log is not None
    config: Any = planned.spec.config
    return await RUNNERS[planned.kind].run(config, ctx, run.log.sink_for(planned.name))

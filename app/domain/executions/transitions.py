"""The one door for status changes: check the table, stamp times, persist, publish the event.

Callers pass the row they hold; the change is flushed in their transaction and the event is
published after their commit via ``Outbox.flush``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.db.models.executions import Execution, ExecutionStep
from app.domain.executions.states import EXECUTION_FINAL, STEP_FINAL, check_execution, check_step
from app.domain.monitoring.observe import observe_step
from app.domain.pipelines.status import status_key
from app.domain.runtime import Runtime
from app.lib.clock import utcnow
from app.lib.events import ExecutionStatusEvent, StepStatusEvent, encode


@dataclass
class Outbox:
    """Events to publish once the transaction that produced them has committed."""

    items: list[tuple[list[str], bytes]] = field(default_factory=list)
    stale_keys: set[str] = field(default_factory=set)

    def add(self, channels: list[str], payload: bytes) -> None:
        self.items.append((channels, payload))

    async def flush(self, rt: Runtime) -> None:
        items, self.items = self.items, []
        keys, self.stale_keys = self.stale_keys, set()
        for cache_key in keys:
            await rt.cache.delete(cache_key)
        for channels, payload in items:
            await rt.publisher.publish(channels, payload)


def set_execution_status(
    rt: Runtime, outbox: Outbox, execution: Execution, new: str, *, message: str | None = None
) -> None:
    check_execution(execution.status, new)
    now = utcnow()
    execution.status = new
    if new == "running" and execution.started_at is None:
        execution.started_at = now
    if new in EXECUTION_FINAL:
        execution.finished_at = now
        execution.lease_owner = None
        execution.lease_expires_at = None
    if new != "queued":
        execution.queue_reason = None
    if message is not None:
        execution.message = message
    outbox.stale_keys.add(status_key(rt, execution.pipeline_id))
    event = ExecutionStatusEvent(
        execution_id=str(execution.id),
        pipeline_id=str(execution.pipeline_id),
        project_id=str(execution.project_id),
        status=new,
        ts=now.isoformat(),
        number=execution.number,
        queue_reason=execution.queue_reason,
    )
    outbox.add([rt.channels.execution(str(execution.id)), rt.channels.global_], encode(event))


def announce_step(rt: Runtime, outbox: Outbox, execution: Execution, step: ExecutionStep) -> None:
    """Publish a step's current state without a status change (a new retry attempt)."""
    event = StepStatusEvent(
        execution_id=str(execution.id),
        step=step.name,
        status=step.status,
        attempt=step.attempt,
        exit_code=step.exit_code,
        ts=utcnow().isoformat(),
        project_id=str(execution.project_id),
    )
    outbox.add([rt.channels.execution(str(execution.id)), rt.channels.global_], encode(event))


def set_step_status(
    rt: Runtime,
    outbox: Outbox,
    execution: Execution,
    step: ExecutionStep,
    new: str,
    *,
    exit_code: int | None = None,
    message: str | None = None,
) -> None:
    check_step(step.status, new)
    now = utcnow()
    step.status = new
    if new == "running":
        step.started_at = now
        step.finished_at = None
        step.exit_code = None
    if new in STEP_FINAL:
        step.finished_at = now
        if step.started_at is None and new == "success":
            step.started_at = now
    if new == "pending":
        step.started_at = step.finished_at = None
    if exit_code is not None:
        step.exit_code = exit_code
    if message is not None:
        step.message = message
    observe_step(rt, execution, step, new)
    event = StepStatusEvent(
        execution_id=str(execution.id),
        step=step.name,
        status=new,
        attempt=step.attempt,
        exit_code=step.exit_code,
        ts=now.isoformat(),
        project_id=str(execution.project_id),
    )
    outbox.add([rt.channels.execution(str(execution.id)), rt.channels.global_], encode(event))

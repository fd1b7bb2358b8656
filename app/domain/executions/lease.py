"""Claiming an execution (lease + concurrency rule), renewing and kicking the next in line."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from sqlalchemy import func, select, update

from app.db.models.executions import Execution
from app.db.models.pipelines import Pipeline
from app.domain.executions.states import ACTIVE
from app.domain.executions.transitions import Outbox, set_execution_status
from app.domain.runtime import Runtime
from app.lib.broker import PRIORITIES
from app.lib.clock import ensure_utc, utcnow
from app.lib.events import ExecutionStatusEvent, encode
from app.lib.jobs import send

_claim_lock: asyncio.Lock | None = None


def _lock() -> asyncio.Lock:
    """Serialises claims within one process (SQLite has no row locks; PostgreSQL uses FOR UPDATE too)."""
    global _claim_lock
    if _claim_lock is None:
        _claim_lock = asyncio.Lock()
    return _claim_lock


def _order_key(e: Execution) -> tuple[int, float]:
    return (-PRIORITIES.get(e.priority, 5), ensure_utc(e.created_at).timestamp())


async def claim(rt: Runtime, execution_id: uuid.UUID, worker_id: str) -> Execution | None:
    """Take the lease and mark running, or return None (finished, held, or waiting its turn)."""
    async with _lock(), rt.sessionmaker() as session:
        execution = await session.scalar(select(Execution).where(Execution.id == execution_id).with_for_update())
        if execution is None or execution.status != "queued":
            return None  # a duplicate or late message: nothing to do
        now = utcnow()
        if execution.lease_owner and execution.lease_expires_at and ensure_utc(execution.lease_expires_at) > now:
            return None
        if execution.concurrency:
            await session.scalar(select(Pipeline.id).where(Pipeline.id == execution.pipeline_id).with_for_update())
            active = (
                await session.scalar(
                    select(func.count()).where(
                        Execution.pipeline_id == execution.pipeline_id, Execution.status.in_(ACTIVE)
                    )
                )
                or 0
            )
            queued = list(
                await session.scalars(
                    select(Execution).where(
                        Execution.pipeline_id == execution.pipeline_id, Execution.status == "queued"
                    )
                )
            )
            queued.sort(key=_order_key)
            free = execution.concurrency - active
            allowed = {e.id for e in queued[: max(free, 0)]}
            if execution.id not in allowed:
                execution.queue_reason = (
                    f"waiting for {active} running execution{'s' if active != 1 else ''} of this pipeline"
                    if free <= 0
                    else "waiting for earlier queued executions of this pipeline"
                )
                await session.commit()
                event = ExecutionStatusEvent(
                    execution_id=str(execution.id),
                    pipeline_id=str(execution.pipeline_id),
                    project_id=str(execution.project_id),
                    status="queued",
                    ts=now.isoformat(),
                    number=execution.number,
                    queue_reason=execution.queue_reason,
                )
                await rt.publisher.publish(
                    [rt.channels.execution(str(execution.id)), rt.channels.global_], encode(event)
                )
                for earlier in queued[: max(free, 0)]:
                    send(rt.broker, rt.queues.executions, "executions.run", str(earlier.id), priority=earlier.priority)
                return None
        outbox = Outbox()
        execution.lease_owner = worker_id
        execution.lease_expires_at = now + timedelta(seconds=rt.settings.lease_seconds)
        execution.attempts += 1
        set_execution_status(rt, outbox, execution, "running")
        await session.commit()
    await outbox.flush(rt)
    return execution


def renew_every(rt: Runtime) -> float:
    """Renew at a third of the lease, so two missed renewals still leave it valid."""
    return rt.settings.lease_seconds / 3


async def renew(rt: Runtime, execution_id: uuid.UUID, worker_id: str) -> bool:
    """Extend the lease; False means someone else took it (we must stop)."""
    async with rt.sessionmaker() as session:
        result = await session.execute(
            update(Execution)
            .where(Execution.id == execution_id, Execution.lease_owner == worker_id)
            .values(lease_expires_at=utcnow() + timedelta(seconds=rt.settings.lease_seconds))
        )
        await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def kick_queued(rt: Runtime, pipeline_id: uuid.UUID) -> None:
    """After an execution ends, wake the next queued executions of a concurrency-limited pipeline."""
    async with rt.sessionmaker() as session:
        queued = list(
            await session.scalars(
                select(Execution).where(Execution.pipeline_id == pipeline_id, Execution.status == "queued")
            )
        )
        if not queued:
            return
        queued.sort(key=_order_key)
        limit = queued[0].concurrency or len(queued)
        active = (
            await session.scalar(
                select(func.count()).where(Execution.pipeline_id == pipeline_id, Execution.status.in_(ACTIVE))
            )
            or 0
        )
    for execution in queued[: max(limit - active, 0)]:
        send(rt.broker, rt.queues.executions, "executions.run", str(execution.id), priority=execution.priority)

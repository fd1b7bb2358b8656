"""Crash recovery (re-queue or fail executions whose lease expired, re-send lost messages) and
retention (finished executions with their steps and logs, and workspaces, past their days)."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import msgspec
import structlog
from sqlalchemy import ColumnElement, Row, and_, delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.base import Base
from app.db.models.executions import Execution, ExecutionStep, LogLine
from app.db.models.webhooks import WebhookDelivery
from app.domain.executions.service import enqueue
from app.domain.executions.states import ACTIVE, EXECUTION_FINAL
from app.domain.executions.transitions import Outbox, set_execution_status, set_step_status
from app.domain.pipelines.status import invalidate_status
from app.domain.runtime import Runtime
from app.lib.clock import ensure_utc, utcnow
from app.lib.events import LogEvent, encode

log = structlog.get_logger("ansflow.sweeper")
MAX_ATTEMPTS = 3
RETENTION_BATCH = 500  # rows deleted per transaction: a backlog drains in short transactions, never one long lock
RETENTION_BATCHES = 20  # per pass, so one pass stays short; the next pass continues


class SweepReport(msgspec.Struct):
    requeued: list[str] = msgspec.field(default_factory=list)
    failed: list[str] = msgspec.field(default_factory=list)
    resent: list[str] = msgspec.field(default_factory=list)
    workspaces_removed: int = 0
    executions_removed: int = 0
    deliveries_removed: int = 0


async def _log_line(session: AsyncSession, execution: Execution, text: str) -> LogEvent:
    """Append a system line; safe because nobody holds this execution's lease right now."""
    seq = (
        int(
            await session.scalar(
                select(func.coalesce(func.max(LogLine.seq), 0)).where(LogLine.execution_id == execution.id)
            )
            or 0
        )
        + 1
    )
    now = utcnow()
    await session.execute(
        insert(LogLine).values(execution_id=execution.id, seq=seq, step=None, stream="system", text=text, ts=now)
    )
    return LogEvent(execution_id=str(execution.id), step=None, seq=seq, stream="system", text=text, ts=now.isoformat())


async def recover_expired(rt: Runtime, report: SweepReport) -> None:
    now = utcnow()
    async with rt.sessionmaker() as session:
        ids = list(
            await session.scalars(
                select(Execution.id).where(Execution.status.in_(ACTIVE), Execution.lease_expires_at < now)
            )
        )
    for execution_id in ids:
        outbox = Outbox()
        async with rt.sessionmaker() as session:
            execution = await session.scalar(
                select(Execution).where(Execution.id == execution_id).with_for_update(skip_locked=True)
            )
            if (
                execution is None
                or execution.status not in ACTIVE
                or execution.lease_expires_at is None
                or ensure_utc(execution.lease_expires_at) >= now
            ):
                continue
            owner = execution.lease_owner
            steps = list(await session.scalars(select(ExecutionStep).where(ExecutionStep.execution_id == execution.id)))
            if execution.attempts >= MAX_ATTEMPTS:
                text = f"worker {owner} stopped renewing its lease; giving up after {execution.attempts} attempts"
                for step in steps:
                    if step.status in ("running", "pending", "waiting_approval"):
                        set_step_status(
                            rt,
                            outbox,
                            execution,
                            step,
                            "failed" if step.status == "running" else "cancelled",
                            message="worker lost",
                        )
                set_execution_status(rt, outbox, execution, "failed", message=text)
                report.failed.append(str(execution.id))
            else:
                text = f"worker {owner} stopped renewing its lease; re-queued (attempt {execution.attempts + 1})"
                for step in steps:
                    if step.status == "running":
                        set_step_status(rt, outbox, execution, step, "pending", message="worker lost; will re-run")
                set_execution_status(rt, outbox, execution, "queued", message=text)
                execution.queue_reason = "re-queued after its worker stopped"
                execution.lease_owner = None
                execution.lease_expires_at = None
                execution.enqueued_at = now
                report.requeued.append(str(execution.id))
            event = await _log_line(session, execution, text)
            await session.commit()
        await outbox.flush(rt)
        await rt.publisher.publish([rt.channels.execution(str(execution.id))], encode(event))
        log.warning(text, execution_id=str(execution.id))
        if execution.status == "queued":
            enqueue(rt, execution)


async def resend_lost(rt: Runtime, report: SweepReport, older_than_s: float) -> None:
    """A queued execution nobody claimed for a while: its message may be lost, send another."""
    cutoff = utcnow() - timedelta(seconds=older_than_s)
    async with rt.sessionmaker() as session:
        rows = list(
            await session.scalars(
                select(Execution).where(
                    Execution.status == "queued", Execution.lease_owner.is_(None), Execution.enqueued_at < cutoff
                )
            )
        )
        for execution in rows:
            execution.enqueued_at = utcnow()
        await session.commit()
    for execution in rows:
        enqueue(rt, execution)
        report.resent.append(str(execution.id))


def _workspace_names(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.is_dir()] if root.is_dir() else []


async def remove_old_workspaces(rt: Runtime, report: SweepReport, retention_days: float) -> None:
    root = Path(rt.settings.workspace_dir)
    cutoff = utcnow() - timedelta(days=retention_days)
    names = await asyncio.to_thread(_workspace_names, root)
    async with rt.sessionmaker() as session:
        for name in names:
            try:
                row = await session.scalar(select(Execution).where(Execution.id == uuid.UUID(name)))
            except ValueError:
                continue
            if row is None or (
                row.status in EXECUTION_FINAL and row.finished_at is not None and ensure_utc(row.finished_at) < cutoff
            ):
                await asyncio.to_thread(shutil.rmtree, root / name, True)
                report.workspaces_removed += 1


async def _delete_in_batches(
    rt: Runtime, model: type[Base], condition: ColumnElement[bool], extra: tuple[Any, ...] = (),
    batch: int = RETENTION_BATCH,
) -> AsyncIterator[Sequence[Row[Any]]]:
    """Delete the rows matching ``condition`` in short transactions (``RETENTION_BATCHES`` a pass),
    yielding each batch's ``(id, *extra)`` rows once committed."""
    for _ in range(RETENTION_BATCHES):
        async with rt.sessionmaker() as session:
            rows = (await session.execute(select(model.id, *extra).where(condition).limit(batch))).all()
            if not rows:
                return
            await session.execute(delete(model).where(model.id.in_([row[0] for row in rows])))
            await session.commit()
        yield rows
        if len(rows) < batch:
            return


async def remove_old_executions(rt: Runtime, report: SweepReport, retention_days: float,
                                batch: int = RETENTION_BATCH) -> None:
    """Delete finished executions older than ``retention_days`` (steps and log lines go with them)."""
    cutoff = utcnow() - timedelta(days=retention_days)
    old = and_(Execution.status.in_(EXECUTION_FINAL), Execution.finished_at < cutoff)
    async for rows in _delete_in_batches(rt, Execution, old, (Execution.pipeline_id,), batch):
        report.executions_removed += len(rows)
        for pipeline_id in {row.pipeline_id for row in rows}:  # a removed run may be a pipeline's latest
            await invalidate_status(rt, pipeline_id)


async def remove_old_deliveries(rt: Runtime, report: SweepReport, retention_days: float,
                                batch: int = RETENTION_BATCH) -> None:
    """Forge webhook deliveries are execution history too: same retention."""
    cutoff = utcnow() - timedelta(days=retention_days)
    async for rows in _delete_in_batches(rt, WebhookDelivery, WebhookDelivery.created_at < cutoff, batch=batch):
        report.deliveries_removed += len(rows)


async def sweep(rt: Runtime, *, lost_after_s: float = 120.0, retention_days: float | None = None,
                execution_retention_days: float | None = None) -> SweepReport:
    report = SweepReport()
    await recover_expired(rt, report)
    await resend_lost(rt, report, lost_after_s)
    if execution_retention_days is not None:
        await remove_old_executions(rt, report, execution_retention_days)
        await remove_old_deliveries(rt, report, execution_retention_days)
    if retention_days is not None:
        await remove_old_workspaces(rt, report, retention_days)
    return report

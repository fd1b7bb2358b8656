"""Cron schedules (``triggers.schedule``, UTC): start each pipeline once per due minute.

Once across any number of worker processes: firing inserts a ``ScheduleFire`` row keyed by
(pipeline, slot) in the same transaction as the execution it starts. A second process racing
for the same slot waits on that key, then inserts nothing and starts nothing; a crash before
the commit leaves neither row, so the next evaluation fires the slot.

Missed slots (no worker ran) are not replayed one by one: each evaluation considers only the
latest slot at or before ``now`` and fires it if it is newer than both the last fire and the
moment the pipeline's current version was saved. After downtime a pipeline therefore runs once
to catch up, then keeps to its schedule, and saving a pipeline never fires a slot from before
the save.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import msgspec
import structlog
from croniter import croniter
from sqlalchemy import func, select, update

from app.db.models.pipelines import Pipeline, PipelineVersion
from app.db.models.projects import Project
from app.db.models.webhooks import ScheduleFire
from app.domain.accounts.principal import SYSTEM
from app.domain.audit.service import record
from app.domain.executions.service import create_execution
from app.domain.runtime import Runtime
from app.domain.triggers.once import insert_once
from app.domain.triggers.specs import pipeline_triggers
from app.lib.clock import ensure_utc, utcnow
from app.lib.errors import DomainError

log = structlog.get_logger("ansflow.schedules")


class Due(msgspec.Struct, frozen=True):
    """A pipeline whose latest cron slot has not fired yet."""

    pipeline_id: uuid.UUID
    project_id: uuid.UUID
    slot: datetime
    cron: str
    branch: str
    repo_url: str | None


def latest_slot(crons: list[str], now: datetime) -> tuple[datetime, str] | None:
    """The most recent minute at or before ``now`` matched by any expression, and which one."""
    start = ensure_utc(now).replace(second=0, microsecond=0) + timedelta(minutes=1)  # get_prev is strict
    best: tuple[datetime, str] | None = None
    for cron in crons:
        try:
            slot = croniter(cron, start).get_prev(datetime)
        except (ValueError, KeyError):  # validated on save; never let one bad expression stop the loop
            continue
        if best is None or slot > best[0]:
            best = (ensure_utc(slot), cron)
    return best


async def due_pipelines(rt: Runtime, now: datetime) -> list[Due]:
    """Pipelines with a slot to fire: newer than their last fire and than their current version."""
    async with rt.sessionmaker() as session:
        rows = (await session.execute(
            select(Pipeline.id, Pipeline.project_id, Pipeline.version, Pipeline.definition,
                   PipelineVersion.created_at, Project.default_branch, Project.repository_url)
            .join(PipelineVersion, (PipelineVersion.pipeline_id == Pipeline.id)
                  & (PipelineVersion.version == Pipeline.version))
            .join(Project, Project.id == Pipeline.project_id)
            .where(Pipeline.definition.contains("schedule"))  # cheap pre-filter; the parse decides
        )).all()
        candidates: list[Due] = []
        for pipeline_id, project_id, version, definition, saved_at, branch, repo_url in rows:
            triggers = pipeline_triggers(pipeline_id, version, definition)
            found = latest_slot(triggers.schedule, now) if triggers is not None else None
            if found is not None and found[0] >= ensure_utc(saved_at):
                candidates.append(Due(pipeline_id, project_id, found[0], found[1], branch, repo_url))
        if not candidates:
            return []
        last = dict((await session.execute(
            select(ScheduleFire.pipeline_id, func.max(ScheduleFire.scheduled_for))
            .where(ScheduleFire.pipeline_id.in_([c.pipeline_id for c in candidates]))
            .group_by(ScheduleFire.pipeline_id)
        )).tuples().all())
    return [c for c in candidates if c.pipeline_id not in last or ensure_utc(last[c.pipeline_id]) < c.slot]


async def fire(rt: Runtime, due: Due) -> uuid.UUID | None:
    """Start the execution for one slot; None when another process fired it first."""
    async with rt.sessionmaker() as session:
        # the first write of the transaction: a racing twin waits here for our commit, then inserts nothing
        marker = await insert_once(session, ScheduleFire, {"pipeline_id": due.pipeline_id, "scheduled_for": due.slot,
                                                           "cron": due.cron}, ["pipeline_id", "scheduled_for"])
        if marker is None:
            await session.rollback()
            return None
        info = {"cron": due.cron, "scheduled_for": due.slot.isoformat(), "repo_url": due.repo_url}
        execution = await create_execution(  # commits the marker together with the execution
            session, rt, SYSTEM, due.pipeline_id, variables={}, priority=None, ref=due.branch,
            trigger="schedule", event="schedule", extra_info={k: v for k, v in info.items() if v},
        )
        await session.execute(update(ScheduleFire).where(ScheduleFire.id == marker).values(execution_id=execution.id))
        record(session, SYSTEM, "execution.create", "execution", execution.id, project_id=due.project_id,
               detail={"pipeline_id": str(due.pipeline_id), "number": execution.number, "trigger": "schedule",
                       "cron": due.cron, "scheduled_for": due.slot.isoformat()})
        await session.commit()
        return execution.id


async def evaluate_schedules(rt: Runtime, now: datetime | None = None) -> list[uuid.UUID]:
    """Fire every due slot at ``now`` (default: the clock); returns the executions this call started."""
    started: list[uuid.UUID] = []
    for due in await due_pipelines(rt, now or utcnow()):
        try:
            execution_id = await fire(rt, due)
        except DomainError as exc:  # e.g. the pipeline was deleted meanwhile; the others still fire
            log.warning("schedule not fired", pipeline_id=str(due.pipeline_id), error=exc.detail)
            continue
        if execution_id is not None:
            started.append(execution_id)
            log.info("schedule fired", pipeline_id=str(due.pipeline_id), slot=due.slot.isoformat(),
                     execution_id=str(execution_id))
    return started

"""Read paths for executions: detail, lists, queue position, logs."""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.executions import Execution, ExecutionStep, LogLine
from app.db.models.pipelines import Pipeline
from app.domain.accounts.principal import Principal
from app.domain.executions.schemas import ExecutionOut, ExecutionSummary, LogLineOut, LogsOut
from app.domain.executions.views import execution_out, execution_summary
from app.domain.projects.access import require, visible_project_ids
from app.domain.projects.permissions import Action
from app.domain.runtime import Runtime
from app.lib.broker import PRIORITIES
from app.lib.cache import ansflow_cache, key
from app.lib.errors import NotFound


async def load_execution(session: AsyncSession, execution_id: uuid.UUID) -> Execution:
    execution = await session.get(Execution, execution_id)
    if execution is None:
        raise NotFound("execution not found")
    return execution


PROJECT_OF_TTL_S = 3600.0


async def project_of(session: AsyncSession, rt: Runtime, execution_id: uuid.UUID) -> uuid.UUID:
    """The execution's project, cached (it never changes; every socket that follows it asks)."""

    async def load() -> bytes:
        project_id = await session.scalar(select(Execution.project_id).where(Execution.id == execution_id))
        if project_id is None:
            raise NotFound("execution not found")  # not cached: the next ask reads again
        return str(project_id).encode()

    return await ansflow_cache(rt.cache).cached_as(
        "execution-project", key(rt.settings, "execution-project", execution_id), load, _uuid, ttl=PROJECT_OF_TTL_S
    )


def _uuid(raw: bytes) -> uuid.UUID:
    return uuid.UUID(raw.decode())


async def steps_of(session: AsyncSession, execution_id: uuid.UUID) -> list[ExecutionStep]:
    rows = await session.scalars(
        select(ExecutionStep).where(ExecutionStep.execution_id == execution_id).order_by(ExecutionStep.position)
    )
    return list(rows)


async def queue_position(session: AsyncSession, execution: Execution) -> int | None:
    """1-based place among queued executions: higher priority first, then oldest first."""
    if execution.status != "queued":
        return None
    rank = PRIORITIES.get(execution.priority, 5)
    higher = [p for p, r in PRIORITIES.items() if r > rank]
    ahead = (
        await session.scalar(
            select(func.count()).where(
                Execution.status == "queued",
                Execution.id != execution.id,
                or_(
                    Execution.priority.in_(higher),
                    and_(Execution.priority == execution.priority, Execution.created_at < execution.created_at),
                ),
            )
        )
        or 0
    )
    return ahead + 1


async def get_detail(session: AsyncSession, rt: Runtime, actor: Principal, execution_id: uuid.UUID) -> ExecutionOut:
    execution = await load_execution(session, execution_id)
    await require(session, rt, actor, execution.project_id, Action.READ, what="execution")
    return await detail(session, execution)


async def detail(session: AsyncSession, execution: Execution) -> ExecutionOut:
    name = await session.scalar(select(Pipeline.name).where(Pipeline.id == execution.pipeline_id))
    return execution_out(
        execution, await steps_of(session, execution.id), await queue_position(session, execution), name
    )


async def list_executions(
    session: AsyncSession,
    rt: Runtime,
    actor: Principal,
    *,
    project_id: uuid.UUID | None,
    pipeline_id: uuid.UUID | None,
    status: str | None,
    limit: int,
    offset: int,
) -> tuple[list[ExecutionSummary], int]:
    conditions: list[ColumnElement[bool]] = []
    if project_id is not None:
        await require(session, rt, actor, project_id, Action.READ)
        conditions.append(Execution.project_id == project_id)
    else:
        visible = await visible_project_ids(session, actor)
        if visible is not None:
            conditions.append(Execution.project_id.in_(visible))
    if pipeline_id is not None:
        pipeline = await session.get(Pipeline, pipeline_id)
        if pipeline is None:
            raise NotFound("pipeline not found")
        await require(session, rt, actor, pipeline.project_id, Action.READ, what="pipeline")
        conditions.append(Execution.pipeline_id == pipeline_id)
    if status:
        conditions.append(Execution.status == status)
    total = await session.scalar(select(func.count()).select_from(Execution).where(*conditions)) or 0
    # columns, not entities: a page of summaries needs no ORM identity map (several times cheaper)
    rows = await session.execute(
        select(*SUMMARY_COLUMNS).where(*conditions)
        .order_by(Execution.created_at.desc(), Execution.id.desc()).limit(limit).offset(offset)
    )
    return [execution_summary(row) for row in rows], total


SUMMARY_COLUMNS = (
    Execution.id, Execution.pipeline_id, Execution.project_id, Execution.pipeline_version, Execution.number,
    Execution.status, Execution.trigger, Execution.priority, Execution.queue_reason, Execution.created_at,
    Execution.started_at, Execution.finished_at,
)


async def read_logs(
    session: AsyncSession,
    execution_id: uuid.UUID,
    *,
    after_seq: int,
    step: str | None,
    limit: int,
    q: str | None,
) -> LogsOut:
    stmt = select(LogLine).where(LogLine.execution_id == execution_id, LogLine.seq > after_seq)
    if step:
        stmt = stmt.where(LogLine.step == step)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(LogLine.text.ilike(f"%{escaped}%", escape="\\"))
    rows = list(await session.scalars(stmt.order_by(LogLine.seq).limit(limit)))
    lines = [LogLineOut(seq=r.seq, step=r.step, stream=r.stream, text=r.text, ts=r.ts) for r in rows]
    return LogsOut(lines=lines, next_seq=lines[-1].seq if lines else after_seq)

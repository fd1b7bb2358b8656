"""Latest execution summary per pipeline, cached and invalidated by execution status changes."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.executions import Execution
from app.db.models.pipelines import Pipeline
from app.domain.accounts.principal import Principal
from app.domain.executions.views import duration_ms
from app.domain.pipelines.schemas import PipelineStatus
from app.domain.projects.access import require
from app.domain.projects.permissions import Action
from app.domain.runtime import Runtime
from app.lib.cache import key
from app.lib.errors import NotFound

TTL_S = 600
_decode = msgspec.json.Decoder(tuple[str, PipelineStatus]).decode


def status_key(rt: Runtime, pipeline_id: uuid.UUID | str) -> str:
    return key(rt.settings, "pipeline-status", pipeline_id)


async def invalidate_status(rt: Runtime, pipeline_id: uuid.UUID | str) -> None:
    await rt.cache.delete(status_key(rt, pipeline_id))


async def pipeline_status(
    session: AsyncSession, rt: Runtime, actor: Principal, pipeline_id: uuid.UUID
) -> PipelineStatus:
    cached = await rt.cache.get(status_key(rt, pipeline_id))
    if isinstance(cached, bytes):
        project_id, status = _decode(cached)
        await require(session, rt, actor, uuid.UUID(project_id), Action.READ, what="pipeline")
        return status
    project_id_row = await session.scalar(select(Pipeline.project_id).where(Pipeline.id == pipeline_id))
    if project_id_row is None:
        raise NotFound("pipeline not found")
    await require(session, rt, actor, project_id_row, Action.READ, what="pipeline")
    latest = await session.scalar(select(Execution).where(Execution.pipeline_id == pipeline_id)
                                  .order_by(Execution.number.desc()).limit(1))
    status = PipelineStatus(pipeline_id=pipeline_id)
    if latest is not None:
        status = PipelineStatus(
            pipeline_id=pipeline_id, execution_id=latest.id, number=latest.number, status=latest.status,
            created_at=latest.created_at, started_at=latest.started_at, finished_at=latest.finished_at,
            duration_ms=duration_ms(latest.started_at, latest.finished_at),
        )
    await rt.cache.set(status_key(rt, pipeline_id), msgspec.json.encode((str(project_id_row), status)),
                       expire=TTL_S)
    return status

"""Latest execution summary per pipeline, and the cache names of pipeline reads.

Cached, with the writes that invalidate each entry:
- ``pipeline-status:<pipeline>`` (``TTL_S``): creating an execution (``invalidate_status``),
  every execution status change (``Outbox.flush`` deletes ``status_key``), deleting the pipeline.
- pipeline list pages of a project (``LIST_TTL_S``, tag ``pipeline-list:<project>``): creating,
  updating or deleting a pipeline (``invalidate_pipeline_list``); each page is also tagged with its
  pipelines' ids, because starting a run bumps the pipeline row (``next_number``, ``updated_at``).

The status is loaded before the access check so that members and admins share one entry; the
check runs on every read, hit or miss, and refuses non-members with the same 404 either way.
"""

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
from app.lib.cache import ansflow_cache, key
from app.lib.errors import NotFound

TTL_S = 600
LIST_TTL_S = 300
_decode = msgspec.json.Decoder(tuple[uuid.UUID, PipelineStatus]).decode


def status_key(rt: Runtime, pipeline_id: uuid.UUID | str) -> str:
    return key(rt.settings, "pipeline-status", pipeline_id)


def pipeline_list_tag(project_id: uuid.UUID | str) -> str:
    return f"pipeline-list:{project_id}"


def pipeline_row_tag(pipeline_id: uuid.UUID | str) -> str:
    return f"pipeline-row:{pipeline_id}"


async def invalidate_status(rt: Runtime, pipeline_id: uuid.UUID | str) -> None:
    """An execution was created (or the pipeline deleted): its status and the list rows are stale."""
    cache = ansflow_cache(rt.cache)
    await cache.delete(status_key(rt, pipeline_id))
    await cache.invalidate_tags(pipeline_row_tag(pipeline_id))


async def invalidate_pipeline_list(rt: Runtime, project_id: uuid.UUID | str) -> None:
    await ansflow_cache(rt.cache).invalidate_tags(pipeline_list_tag(project_id))


async def _load_status(session: AsyncSession, pipeline_id: uuid.UUID) -> bytes:
    project_id = await session.scalar(select(Pipeline.project_id).where(Pipeline.id == pipeline_id))
    if project_id is None:
        raise NotFound("pipeline not found")
    latest = await session.scalar(select(Execution).where(Execution.pipeline_id == pipeline_id)
                                  .order_by(Execution.number.desc()).limit(1))
    status = PipelineStatus(pipeline_id=pipeline_id)
    if latest is not None:
        status = PipelineStatus(
            pipeline_id=pipeline_id, execution_id=latest.id, number=latest.number, status=latest.status,
            created_at=latest.created_at, started_at=latest.started_at, finished_at=latest.finished_at,
            duration_ms=duration_ms(latest.started_at, latest.finished_at),
        )
    return msgspec.json.encode((str(project_id), status))


async def pipeline_status(
    session: AsyncSession, rt: Runtime, actor: Principal, pipeline_id: uuid.UUID
) -> PipelineStatus:
    async def load() -> bytes:
        return await _load_status(session, pipeline_id)

    project_id, status = await ansflow_cache(rt.cache).cached_as(
        "pipeline-status", status_key(rt, pipeline_id), load, _decode, ttl=TTL_S
    )
    await require(session, rt, actor, project_id, Action.READ, what="pipeline")
    return status

"""Pipelines: create/update (each save is a new numbered version), delete, validate, list."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.errors import is_unique_violation
from app.db.models.pipelines import Pipeline, PipelineVersion
from app.domain.accounts.principal import Principal
from app.domain.audit.service import record
from app.domain.pipelines.plan import expand_plan
from app.domain.pipelines.schemas import (
    PipelineCreate,
    PipelineOut,
    PipelineUpdate,
    Plan,
    PlanStep,
    ValidateOut,
    ValidationError,
    VersionOut,
)
from app.domain.pipelines.spec import PipelineSpec, parse_definition
from app.domain.pipelines.status import (
    LIST_TTL_S,
    invalidate_pipeline_list,
    invalidate_status,
    pipeline_list_tag,
    pipeline_row_tag,
)
from app.domain.projects.access import require
from app.domain.projects.permissions import Action
from app.domain.projects.secrets import secret_names
from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache, key
from app.lib.errors import Conflict, FieldError, NotFound, ValidationFailed


def pipeline_out(p: Pipeline) -> PipelineOut:
    return PipelineOut(id=p.id, project_id=p.project_id, name=p.name, definition=p.definition, version=p.version,
                       priority=p.priority, concurrency=p.concurrency, created_at=p.created_at,
                       updated_at=p.updated_at)


def validate_text(definition: str, known_secrets: set[str] | None) -> ValidateOut:
    result = parse_definition(definition, known_secrets)
    errors = [ValidationError(path=e.path, line=e.line, message=e.message) for e in result.errors]
    if result.spec is None:
        return ValidateOut(valid=False, errors=errors, plan=None)
    steps = [PlanStep(name=s.name, kind=s.kind, needs=list(s.needs)) for s in expand_plan(result.spec)]
    return ValidateOut(valid=not errors, errors=errors, plan=Plan(steps=steps))


async def _parse_or_raise(session: AsyncSession, project_id: uuid.UUID, definition: str) -> PipelineSpec:
    result = parse_definition(definition, await secret_names(session, project_id))
    if result.spec is None:
        raise ValidationFailed(
            "the pipeline definition is invalid",
            [FieldError(f"definition.{e.path}" if e.path else "definition",
                        f"line {e.line}: {e.message}" if e.line else e.message) for e in result.errors],
        )
    return result.spec


async def load_pipeline(
    session: AsyncSession, rt: Runtime, actor: Principal, pipeline_id: uuid.UUID, action: Action
) -> Pipeline:
    pipeline = await session.get(Pipeline, pipeline_id)
    if pipeline is None:
        raise NotFound("pipeline not found")
    await require(session, rt, actor, pipeline.project_id, action, what="pipeline")
    return pipeline


async def _commit_unique(session: AsyncSession, name: str) -> None:
    try:
        await session.commit()
    except IntegrityError as exc:
        await session.rollback()
        if is_unique_violation(exc):
            raise Conflict(f"this project already has a pipeline named {name!r}") from exc
        raise


async def create_pipeline(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, data: PipelineCreate
) -> PipelineOut:
    await require(session, rt, actor, project_id, Action.EDIT)
    spec = await _parse_or_raise(session, project_id, data.definition)
    pipeline = Pipeline(project_id=project_id, name=data.name, definition=data.definition, version=1,
                        priority=spec.priority, concurrency=spec.concurrency, created_by=actor.user_id)
    session.add(pipeline)
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        if is_unique_violation(exc):
            raise Conflict(f"this project already has a pipeline named {data.name!r}") from exc
        raise
    session.add(PipelineVersion(pipeline_id=pipeline.id, version=1, name=data.name, definition=data.definition,
                                created_by=actor.user_id))
    record(session, actor, "pipeline.create", "pipeline", pipeline.id, project_id=project_id,
           detail={"name": data.name, "version": 1})
    await _commit_unique(session, data.name)
    await invalidate_pipeline_list(rt, project_id)
    return pipeline_out(pipeline)


async def update_pipeline(
    session: AsyncSession, rt: Runtime, actor: Principal, pipeline_id: uuid.UUID, data: PipelineUpdate
) -> PipelineOut:
    pipeline = await load_pipeline(session, rt, actor, pipeline_id, Action.EDIT)
    name = pipeline.name if isinstance(data.name, msgspec.UnsetType) else data.name
    definition = pipeline.definition if isinstance(data.definition, msgspec.UnsetType) else data.definition
    spec = await _parse_or_raise(session, pipeline.project_id, definition)
    if name == pipeline.name and definition == pipeline.definition:
        return pipeline_out(pipeline)
    pipeline.version += 1
    pipeline.name, pipeline.definition = name, definition
    pipeline.priority, pipeline.concurrency = spec.priority, spec.concurrency
    session.add(PipelineVersion(pipeline_id=pipeline.id, version=pipeline.version, name=name,
                                definition=definition, created_by=actor.user_id))
    record(session, actor, "pipeline.update", "pipeline", pipeline.id, project_id=pipeline.project_id,
           detail={"version": pipeline.version})
    await _commit_unique(session, name)
    await invalidate_pipeline_list(rt, pipeline.project_id)
    return pipeline_out(pipeline)


async def delete_pipeline(session: AsyncSession, rt: Runtime, actor: Principal, pipeline_id: uuid.UUID) -> None:
    pipeline = await load_pipeline(session, rt, actor, pipeline_id, Action.EDIT)
    record(session, actor, "pipeline.delete", "pipeline", pipeline.id, project_id=pipeline.project_id,
           detail={"name": pipeline.name})
    await session.delete(pipeline)
    await session.commit()
    await invalidate_pipeline_list(rt, pipeline.project_id)
    await invalidate_status(rt, pipeline_id)


async def list_pipelines(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[PipelineOut], int]:
    """Cached per project and page (the same for every reader; access is checked first, every time)."""
    await require(session, rt, actor, project_id, Action.READ)
    cache = ansflow_cache(rt.cache)
    cache_key = key(rt.settings, "pipeline-list", project_id, limit, offset)

    async def load() -> bytes:
        stmt = select(Pipeline).where(Pipeline.project_id == project_id)
        total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = await session.scalars(stmt.order_by(Pipeline.name).limit(limit).offset(offset))
        items = [pipeline_out(p) for p in rows]
        await cache.tag(cache_key, *(pipeline_row_tag(p.id) for p in items))
        return msgspec.json.encode((items, total))

    raw = await cache.cached("pipeline-list", cache_key, load, ttl=LIST_TTL_S, tags=[pipeline_list_tag(project_id)])
    return msgspec.json.decode(raw, type=tuple[list[PipelineOut], int])


async def list_versions(
    session: AsyncSession, rt: Runtime, actor: Principal, pipeline_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[VersionOut], int]:
    await load_pipeline(session, rt, actor, pipeline_id, Action.READ)
    stmt = select(PipelineVersion).where(PipelineVersion.pipeline_id == pipeline_id)
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await session.scalars(stmt.order_by(PipelineVersion.version.desc()).limit(limit).offset(offset))
    return [VersionOut(version=v.version, name=v.name, definition=v.definition, created_by=v.created_by,
                       created_at=v.created_at) for v in rows], total


async def validate(
    session: AsyncSession, rt: Runtime, actor: Principal, definition: str, project_id: uuid.UUID | None
) -> ValidateOut:
    known = None
    if project_id is not None:
        await require(session, rt, actor, project_id, Action.READ)
        known = await secret_names(session, project_id)
    return validate_text(definition, known)

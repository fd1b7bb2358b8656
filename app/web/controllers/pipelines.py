"""Pipelines: CRUD under a project, versions, validation, runs and the cached status."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from litestar import Controller, MediaType, Request, Response, delete, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.principal import Principal
from app.domain.executions import service as executions
from app.domain.executions.schemas import ExecutionOut, RunIn
from app.domain.pipelines import service
from app.domain.pipelines.schemas import (
    PipelineCreate,
    PipelineOut,
    PipelineStatus,
    PipelineUpdate,
    ValidateIn,
    ValidateOut,
    VersionOut,
)
from app.domain.pipelines.status import pipeline_status
from app.domain.projects.permissions import Action
from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache
from app.web.deps import bearer_token, provide_runtime, request_session, resolve_principal
from app.web.pagination import Limit, Offset, Page
from app.web.problems import StrictBody, error_responses

PIPE = "/pipelines/{pipeline_id:uuid}"


class PipelinesController(Controller):
    path = "/api/v1"
    tags = ["pipelines"]

    @get("/projects/{project_id:uuid}/pipelines", responses=error_responses(400, 401, 404))
    async def list_pipelines(
        self,
        project_id: uuid.UUID,
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> Page[PipelineOut]:
        items, total = await service.list_pipelines(db, rt, principal, project_id, limit, offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/projects/{project_id:uuid}/pipelines", responses=error_responses(400, 401, 403, 404, 409))
    async def create_pipeline(
        self,
        project_id: uuid.UUID,
        data: StrictBody[PipelineCreate],
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
    ) -> PipelineOut:
        """The definition is validated; it becomes version 1."""
        return await service.create_pipeline(db, rt, principal, project_id, data)

    @post("/pipelines/validate", status_code=200, responses=error_responses(400, 401, 404))
    async def validate(
        self, data: StrictBody[ValidateIn], principal: Principal, db: AsyncSession, rt: Runtime
    ) -> ValidateOut:
        """Every problem with its YAML line, and the plan after matrix expansion."""
        return await service.validate(db, rt, principal, data.definition, data.project_id)

    @get(PIPE, responses=error_responses(400, 401, 404))
    async def get_pipeline(
        self, pipeline_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> PipelineOut:
        return service.pipeline_out(await service.load_pipeline(db, rt, principal, pipeline_id, Action.READ))

    @put(PIPE, responses=error_responses(400, 401, 403, 404, 409))
    async def update_pipeline(
        self,
        pipeline_id: uuid.UUID,
        data: StrictBody[PipelineUpdate],
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
    ) -> PipelineOut:
        """A changed name or definition is saved as a new numbered version."""
        return await service.update_pipeline(db, rt, principal, pipeline_id, data)

    @delete(PIPE, responses=error_responses(400, 401, 403, 404))
    async def delete_pipeline(
        self, pipeline_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> None:
        await service.delete_pipeline(db, rt, principal, pipeline_id)

    @get(PIPE + "/versions", responses=error_responses(400, 401, 404))
    async def list_versions(
        self,
        pipeline_id: uuid.UUID,
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> Page[VersionOut]:
        items, total = await service.list_versions(db, rt, principal, pipeline_id, limit, offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post(PIPE + "/runs", responses=error_responses(400, 401, 403, 404))
    async def run_pipeline(
        self, pipeline_id: uuid.UUID, data: StrictBody[RunIn], principal: Principal, db: AsyncSession, rt: Runtime
    ) -> ExecutionOut:
        """Queue an execution; its priority is the request's, else the pipeline's, else normal."""
        return await executions.run_pipeline(
            db, rt, principal, pipeline_id, dict(data.variables), data.priority, data.ref
        )

    @get(PIPE + "/status", responses=error_responses(400, 401, 404))
    async def status(self, request: Request[Any, Any, Any], pipeline_id: uuid.UUID) -> Response[PipelineStatus]:
        """The latest execution's summary, served from the cache.

        The hottest read of the API (dashboards poll it), so it resolves the caller itself instead of
        through the three injected dependencies, and for a bearer token reuses the encoded answer
        while every cached entry it came from is unchanged (``app/lib/cache/derived.py``).
        """
        rt = provide_runtime(request.app.state)
        answers = ansflow_cache(rt.cache).answers
        token = bearer_token(request)
        answer_key = ("pipeline-status", token, pipeline_id) if token else None
        if answer_key is not None and (kept := answers.get(answer_key)) is not None:
            return json_response(kept)
        with answers.deriving() as derivation:
            async with request_session(rt) as db:
                principal = await resolve_principal(request, db, method="GET")
                body = msgspec.json.encode(await pipeline_status(db, rt, principal, pipeline_id))
        if answer_key is not None:
            answers.keep(answer_key, body, derivation)
        return json_response(body)


def json_response(body: bytes) -> Response[Any]:
    return Response(body, media_type=MediaType.JSON)

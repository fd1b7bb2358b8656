"""Executions: list, detail, cancel, retry, approvals, logs (JSON and text)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated, Literal

from litestar import Controller, MediaType, get, post
from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.principal import Principal
from app.domain.executions import queries, service
from app.domain.executions.schemas import DecisionIn, ExecutionOut, ExecutionSummary, LogsOut, RetryIn
from app.domain.projects.access import require
from app.domain.projects.permissions import Action
from app.domain.runtime import Runtime
from app.web.pagination import Limit, Offset, Page
from app.web.problems import StrictBody, error_responses

EXE = "/{execution_id:uuid}"
Status = Literal["queued", "running", "waiting_approval", "success", "failed", "cancelled", "timed_out"]
LogLimit = Annotated[int, Parameter(ge=1, le=5000, description="lines per page (max 5000)")]
AfterSeq = Annotated[int, Parameter(ge=0, description="return lines with seq greater than this")]


class ExecutionsController(Controller):
    path = "/api/v1/executions"
    tags = ["executions"]

    @get("/", responses=error_responses(400, 401, 404))
    async def list_executions(
        self,
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
        project_id: uuid.UUID | None = None,
        pipeline_id: uuid.UUID | None = None,
        status: Status | None = None,
        limit: Limit = 20,
        offset: Offset = 0,
    ) -> Page[ExecutionSummary]:
        items, total = await queries.list_executions(
            db, rt, principal, project_id=project_id, pipeline_id=pipeline_id, status=status, limit=limit, offset=offset
        )
        return Page(items=items, total=total, limit=limit, offset=offset)

    @get(EXE, responses=error_responses(400, 401, 404))
    async def get_execution(
        self, execution_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> ExecutionOut:
        return await queries.get_detail(db, rt, principal, execution_id)

    @post(EXE + "/cancel", status_code=202, responses=error_responses(400, 401, 403, 404, 409))
    async def cancel(
        self, execution_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> ExecutionOut:
        """Running processes are killed (within seconds); pending steps become cancelled."""
        return await service.cancel(db, rt, principal, execution_id)

    @post(EXE + "/retry", responses=error_responses(400, 401, 403, 404, 409))
    async def retry(
        self,
        execution_id: uuid.UUID,
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
        data: StrictBody[RetryIn | None] = None,
    ) -> ExecutionOut:
        """A new execution; from "failed" keeps succeeded steps' results and workspace."""
        return await service.retry(db, rt, principal, execution_id, (data or RetryIn()).from_)

    @post(EXE + "/steps/{step_name:str}/approve", status_code=200, responses=error_responses(400, 401, 403, 404, 409))
    async def approve(
        self,
        execution_id: uuid.UUID,
        step_name: str,
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
        data: StrictBody[DecisionIn | None] = None,
    ) -> ExecutionOut:
        return await service.decide_approval(
            db, rt, principal, execution_id, step_name, True, (data or DecisionIn()).comment
        )

    @post(EXE + "/steps/{step_name:str}/reject", status_code=200, responses=error_responses(400, 401, 403, 404, 409))
    async def reject(
        self,
        execution_id: uuid.UUID,
        step_name: str,
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
        data: StrictBody[DecisionIn | None] = None,
    ) -> ExecutionOut:
        return await service.decide_approval(
            db, rt, principal, execution_id, step_name, False, (data or DecisionIn()).comment
        )

    @get(EXE + "/logs", responses=error_responses(400, 401, 404))
    async def logs(
        self,
        execution_id: uuid.UUID,
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
        after_seq: AfterSeq = 0,
        step: str | None = None,
        limit: LogLimit = 1000,
        q: Annotated[str | None, Parameter(max_length=200)] = None,
    ) -> LogsOut:
        execution = await queries.load_execution(db, execution_id)
        await require(db, rt, principal, execution.project_id, Action.READ, what="execution")
        return await queries.read_logs(db, execution_id, after_seq=after_seq, step=step, limit=limit, q=q)

    @get(EXE + "/logs.txt", media_type=MediaType.TEXT, responses=error_responses(400, 401, 404))
    async def logs_text(self, execution_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime) -> Stream:
        """The whole log as text, one stored line per line (streamed in pages)."""
        execution = await queries.load_execution(db, execution_id)
        await require(db, rt, principal, execution.project_id, Action.READ, what="execution")

        async def lines() -> AsyncGenerator[bytes, None]:
            after = 0
            async with rt.sessionmaker() as session:
                while True:
                    page = await queries.read_logs(
                        session, execution_id, after_seq=after, step=None, limit=5000, q=None
                    )
                    if not page.lines:
                        return
                    yield "".join(line.text + "\n" for line in page.lines).encode()
                    after = page.next_seq

        return Stream(
            lines(),
            media_type="text/plain; charset=utf-8",
            headers={"Content-Disposition": f'inline; filename="execution-{execution_id}.log"'},
        )

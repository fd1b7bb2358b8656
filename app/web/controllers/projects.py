"""Projects, members and secrets."""

from __future__ import annotations

import uuid

from litestar import Controller, delete, get, patch, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.principal import Principal
from app.domain.projects import members, secrets, service
from app.domain.projects.schemas import (
    MemberOut,
    MemberPut,
    ProjectCreate,
    ProjectOut,
    ProjectUpdate,
    SecretOut,
    SecretPut,
)
from app.domain.runtime import Runtime
from app.web.pagination import Limit, Offset, Page
from app.web.problems import StrictBody, error_responses

PID = "/{project_id:uuid}"


class ProjectsController(Controller):
    path = "/api/v1/projects"
    tags = ["projects"]

    @get("/", responses=error_responses(400, 401))
    async def list_projects(
        self, principal: Principal, db: AsyncSession, rt: Runtime, limit: Limit = 20, offset: Offset = 0
    ) -> Page[ProjectOut]:
        items, total = await service.list_projects(db, principal, limit, offset, rt)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post("/", responses=error_responses(400, 401, 403, 409))
    async def create_project(
        self, data: StrictBody[ProjectCreate], principal: Principal, db: AsyncSession, rt: Runtime
    ) -> ProjectOut:
        return await service.create_project(db, rt, principal, data)

    @get(PID, responses=error_responses(400, 401, 404))
    async def get_project(
        self, project_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> ProjectOut:
        return await service.get_project(db, rt, principal, project_id)

    @patch(PID, responses=error_responses(400, 401, 403, 404, 409))
    async def update_project(
        self,
        project_id: uuid.UUID,
        data: StrictBody[ProjectUpdate],
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
    ) -> ProjectOut:
        return await service.update_project(db, rt, principal, project_id, data)

    @delete(PID, responses=error_responses(400, 401, 403, 404))
    async def delete_project(self, project_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime) -> None:
        await service.delete_project(db, rt, principal, project_id)

    @get(PID + "/members", responses=error_responses(400, 401, 404))
    async def list_members(
        self, project_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> list[MemberOut]:
        return await members.list_members(db, rt, principal, project_id)

    @put(PID + "/members/{user_id:uuid}", responses=error_responses(400, 401, 403, 404, 409))
    async def put_member(
        self,
        project_id: uuid.UUID,
        user_id: uuid.UUID,
        data: StrictBody[MemberPut],
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
    ) -> MemberOut:
        return await members.put_member(db, rt, principal, project_id, user_id, data.role)

    @delete(PID + "/members/{user_id:uuid}", responses=error_responses(400, 401, 403, 404, 409))
    async def remove_member(
        self, project_id: uuid.UUID, user_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> None:
        await members.remove_member(db, rt, principal, project_id, user_id)

    @get(PID + "/secrets", responses=error_responses(400, 401, 404))
    async def list_secrets(
        self, project_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> list[SecretOut]:
        return await secrets.list_secrets(db, rt, principal, project_id)

    @put(PID + "/secrets/{name:str}", responses=error_responses(400, 401, 403, 404))
    async def put_secret(
        self,
        project_id: uuid.UUID,
        name: str,
        data: StrictBody[SecretPut],
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
    ) -> SecretOut:
        return await secrets.put_secret(db, rt, principal, project_id, name, data.value)

    @delete(PID + "/secrets/{name:str}", responses=error_responses(400, 401, 403, 404))
    async def delete_secret(
        self, project_id: uuid.UUID, name: str, principal: Principal, db: AsyncSession, rt: Runtime
    ) -> None:
        await secrets.delete_secret(db, rt, principal, project_id, name)

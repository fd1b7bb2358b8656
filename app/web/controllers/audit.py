"""Audit log query: admins see everything, project owners see their projects' records."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.params import Parameter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.projects import ProjectMember
from app.domain.accounts.principal import Principal
from app.domain.accounts.schemas import NO_NUL
from app.domain.audit.service import AuditOut, query
from app.lib.errors import Forbidden
from app.web.pagination import Limit, Offset, Page
from app.web.problems import error_responses

Filter = Annotated[str | None, Parameter(max_length=64, pattern=NO_NUL)]


class AuditController(Controller):
    path = "/api/v1/audit-logs"
    tags = ["audit"]

    @get("/", responses=error_responses(400, 401, 403))
    async def list_audit_logs(
        self, principal: Principal, db: AsyncSession, actor: Filter = None, action: Filter = None,
        resource_type: Filter = None, limit: Limit = 20, offset: Offset = 0,
    ) -> Page[AuditOut]:
        project_ids = None
        if not principal.is_admin:
            project_ids = list(await db.scalars(select(ProjectMember.project_id).where(
                ProjectMember.user_id == principal.user_id, ProjectMember.role == "owner")))
            if not project_ids:
                raise Forbidden("audit logs are for administrators and project owners")
        items, total = await query(db, actor=actor, action=action, resource_type=resource_type,
                                   project_ids=project_ids, limit=limit, offset=offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

"""Projects: create (creator becomes owner), list what the user may see, update, delete."""

from __future__ import annotations

import uuid

import msgspec
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.errors import is_unique_violation
from app.db.models.projects import Project, ProjectMember
from app.domain.accounts.principal import Principal
from app.domain.audit.service import record
from app.domain.projects.access import (
    ADMINS_PROJECT_LIST,
    PROJECT_LIST_TTL_S,
    forget_project,
    invalidate_role,
    project_list_tag,
    require,
)
from app.domain.projects.permissions import Action
from app.domain.projects.schemas import ProjectCreate, ProjectOut, ProjectUpdate
from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache, key
from app.lib.errors import Conflict


def project_out(p: Project, role: str | None = None) -> ProjectOut:
    return ProjectOut(id=p.id, name=p.name, description=p.description, repository_url=p.repository_url,
                      default_branch=p.default_branch, created_at=p.created_at, updated_at=p.updated_at,
                      role=role)


async def _flush_unique(session: AsyncSession, name: str) -> None:
    try:
        await session.flush()
    except IntegrityError as exc:
        await session.rollback()
        if is_unique_violation(exc):
            raise Conflict(f"a project named {name!r} already exists") from exc
        raise


async def create_project(session: AsyncSession, rt: Runtime, actor: Principal, data: ProjectCreate) -> ProjectOut:
    project = Project(name=data.name, description=data.description, repository_url=data.repository_url,
                      default_branch=data.default_branch, created_by=actor.user_id)
    session.add(project)
    await _flush_unique(session, data.name)
    session.add(ProjectMember(project_id=project.id, user_id=actor.user_id, role="owner"))
    record(session, actor, "project.create", "project", project.id, project_id=project.id,
           detail={"name": project.name})
    await session.commit()
    await invalidate_role(rt, actor.user_id, project.id)
    await ansflow_cache(rt.cache).invalidate_tags(ADMINS_PROJECT_LIST)
    return project_out(project, "owner")


async def list_projects(
    session: AsyncSession, actor: Principal, limit: int, offset: int, rt: Runtime | None = None
) -> tuple[list[ProjectOut], int]:
    """Cached per user, admin flag and page when given the runtime (tags: the user's, and admins')."""
    role_col = (
        select(ProjectMember.role)
        .where(ProjectMember.project_id == Project.id, ProjectMember.user_id == actor.user_id)
        .scalar_subquery()
    )
    stmt = select(Project, role_col.label("role"))
    if not actor.is_admin:
        stmt = stmt.where(role_col.is_not(None))

    async def load() -> bytes:
        total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        rows = await session.execute(stmt.order_by(Project.name).limit(limit).offset(offset))
        return msgspec.json.encode(([project_out(p, role) for p, role in rows.all()], total))

    if rt is None:
        raw = await load()
    else:
        tags = [project_list_tag(actor.user_id), *([ADMINS_PROJECT_LIST] if actor.is_admin else [])]
        cache_key = key(rt.settings, "project-list", actor.user_id, int(actor.is_admin), limit, offset)
        raw = await ansflow_cache(rt.cache).cached("project-list", cache_key, load, ttl=PROJECT_LIST_TTL_S,
                                                   tags=tags)
    return msgspec.json.decode(raw, type=tuple[list[ProjectOut], int])


async def get_project(session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID) -> ProjectOut:
    role = await require(session, rt, actor, project_id, Action.READ)
    project = await session.get(Project, project_id)
    assert project is not None  # require() checked existence
    return project_out(project, role)


async def update_project(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, data: ProjectUpdate
) -> ProjectOut:
    role = await require(session, rt, actor, project_id, Action.UPDATE_PROJECT)
    project = await session.get(Project, project_id)
    assert project is not None
    changed = [f for f in data.__struct_fields__ if getattr(data, f) is not msgspec.UNSET]
    for field in changed:
        setattr(project, field, getattr(data, field))
    await _flush_unique(session, project.name)
    record(session, actor, "project.update", "project", project.id, project_id=project.id,
           detail={"fields": changed})
    members = list(await session.scalars(
        select(ProjectMember.user_id).where(ProjectMember.project_id == project_id)))
    await session.commit()
    await ansflow_cache(rt.cache).invalidate_tags(ADMINS_PROJECT_LIST, *(project_list_tag(u) for u in members))
    return project_out(project, role)


async def delete_project(session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID) -> None:
    await require(session, rt, actor, project_id, Action.DELETE_PROJECT)
    project = await session.get(Project, project_id)
    assert project is not None
    members = list(await session.scalars(
        select(ProjectMember.user_id).where(ProjectMember.project_id == project_id)))
    record(session, actor, "project.delete", "project", project.id, project_id=project.id,
           detail={"name": project.name})
    await session.delete(project)
    await session.commit()
    for user_id in members:
        await invalidate_role(rt, user_id, project_id)
    await forget_project(rt, project_id)
    await ansflow_cache(rt.cache).invalidate_tags(ADMINS_PROJECT_LIST)

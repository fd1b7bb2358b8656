"""Project membership: list, add or change a role, remove; the last owner cannot leave."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.accounts import User
from app.db.models.projects import ProjectMember
from app.domain.accounts.principal import Principal
from app.domain.audit.service import record
from app.domain.projects.access import invalidate_role, require
from app.domain.projects.permissions import Action, can_assign
from app.domain.projects.schemas import MemberOut
from app.domain.runtime import Runtime
from app.lib.errors import Conflict, Forbidden, NotFound


async def list_members(session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID) -> list[MemberOut]:
    await require(session, rt, actor, project_id, Action.READ)
    rows = await session.execute(
        select(ProjectMember, User.username).join(User, User.id == ProjectMember.user_id)
        .where(ProjectMember.project_id == project_id).order_by(User.username)
    )
    return [MemberOut(user_id=m.user_id, username=name, role=m.role, created_at=m.created_at)
            for m, name in rows.all()]


async def _owner_count(session: AsyncSession, project_id: uuid.UUID) -> int:
    return await session.scalar(
        select(func.count()).where(ProjectMember.project_id == project_id, ProjectMember.role == "owner")
    ) or 0


async def put_member(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> MemberOut:
    actor_role = await require(session, rt, actor, project_id, Action.MANAGE_MEMBERS)
    user = await session.get(User, user_id)
    if user is None:
        raise NotFound("user not found")
    member = await session.scalar(
        select(ProjectMember).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
    )
    current = member.role if member else None
    if not can_assign(actor_role, actor.is_admin, current, role):
        raise Forbidden("only owners can grant or change the owner role")
    if current == "owner" and role != "owner" and await _owner_count(session, project_id) <= 1:
        raise Conflict("a project needs at least one owner")
    if member is None:
        member = ProjectMember(project_id=project_id, user_id=user_id, role=role)
        session.add(member)
    else:
        member.role = role
    await session.flush()
    record(session, actor, "member.put", "member", user_id, project_id=project_id,
           detail={"username": user.username, "role": role, "previous": current})
    await session.commit()
    await invalidate_role(rt, user_id, project_id)
    return MemberOut(user_id=user_id, username=user.username, role=role, created_at=member.created_at)


async def remove_member(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, user_id: uuid.UUID
) -> None:
    actor_role = await require(session, rt, actor, project_id, Action.MANAGE_MEMBERS)
    member = await session.scalar(
        select(ProjectMember).where(ProjectMember.project_id == project_id, ProjectMember.user_id == user_id)
    )
    if member is None:
        raise NotFound("member not found")
    if not can_assign(actor_role, actor.is_admin, member.role, None):
        raise Forbidden("only owners can remove an owner")
    if member.role == "owner" and await _owner_count(session, project_id) <= 1:
        raise Conflict("a project needs at least one owner")
    record(session, actor, "member.remove", "member", user_id, project_id=project_id,
           detail={"role": member.role})
    await session.delete(member)
    await session.commit()
    await invalidate_role(rt, user_id, project_id)

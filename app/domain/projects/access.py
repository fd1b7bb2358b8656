"""Membership lookups (cached per user and project) and the one 'require' used by every service.

Cached: a member's role per (user, project), ``ROLE_TTL`` seconds, key ``role:<user>:<project>``
("-" for "not a member", so refusals are cheap too). Invalidated by ``invalidate_role``, which every
membership write calls after its commit (put/remove member, create/delete project); the same call
drops that user's cached project lists, whose rows carry the role.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.projects import Project, ProjectMember
from app.domain.accounts.principal import Principal
from app.domain.projects.permissions import Action, can
from app.domain.runtime import Runtime
from app.lib.cache import ansflow_cache, key
from app.lib.errors import Forbidden, NotFound

ROLE_TTL = 300
PROJECT_LIST_TTL_S = 300
ADMINS_PROJECT_LIST = "project-list:admins"  # admins see every project: any project write drops their lists
_NONE = b"-"  # cached marker for "not a member"


def role_key(rt: Runtime, user_id: uuid.UUID, project_id: uuid.UUID) -> str:
    return key(rt.settings, "role", user_id, project_id)


def project_list_tag(user_id: uuid.UUID | str) -> str:
    """Tag of every cached page of one user's project list."""
    return f"project-list:{user_id}"


async def member_role(session: AsyncSession, rt: Runtime, user_id: uuid.UUID, project_id: uuid.UUID) -> str | None:
    async def load() -> bytes:
        role = await session.scalar(
            select(ProjectMember.role).where(ProjectMember.user_id == user_id, ProjectMember.project_id == project_id)
        )
        return role.encode() if role else _NONE

    raw = await ansflow_cache(rt.cache).cached("member-role", role_key(rt, user_id, project_id), load, ttl=ROLE_TTL)
    return None if raw == _NONE else raw.decode()


async def invalidate_role(rt: Runtime, user_id: uuid.UUID, project_id: uuid.UUID) -> None:
    """A membership changed: the role and the user's project lists are stale in every process."""
    cache = ansflow_cache(rt.cache)
    await cache.delete(role_key(rt, user_id, project_id))
    await cache.invalidate_tags(project_list_tag(user_id))


async def require(
    session: AsyncSession,
    rt: Runtime,
    principal: Principal,
    project_id: uuid.UUID,
    action: Action,
    *,
    what: str = "project",
) -> str | None:
    """Return the member's role, or raise: NotFound hides projects from non-members."""
    role = None if principal.is_admin else await member_role(session, rt, principal.user_id, project_id)
    if principal.is_admin:
        if not await project_exists(session, rt, project_id):
            raise NotFound(f"{what} not found")
        return role
    if role is None:
        raise NotFound(f"{what} not found")
    if not can(role, principal.is_admin, action):
        raise Forbidden(f"this needs the {action.value!r} permission; your role is {role!r}")
    return role


def exists_key(rt: Runtime, project_id: uuid.UUID) -> str:
    return key(rt.settings, "project-exists", project_id)


async def project_exists(session: AsyncSession, rt: Runtime, project_id: uuid.UUID) -> bool:
    """Admins skip membership, but the project must exist; cached so an admin's reads cost no query."""

    async def load() -> bytes:
        found = await session.scalar(select(Project.id).where(Project.id == project_id))
        return b"1" if found is not None else b"0"

    return await rt.cache.cached("project_exists", exists_key(rt, project_id), load, ttl=ROLE_TTL) == b"1"


async def forget_project(rt: Runtime, project_id: uuid.UUID) -> None:
    await rt.cache.delete(exists_key(rt, project_id))


async def visible_project_ids(session: AsyncSession, principal: Principal) -> list[uuid.UUID] | None:
    """None means 'all' (admins)."""
    if principal.is_admin:
        return None
    rows = await session.scalars(select(ProjectMember.project_id).where(ProjectMember.user_id == principal.user_id))
    return list(rows)

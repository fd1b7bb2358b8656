"""Write and query audit records. Writers call ``record`` inside their own transaction."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.audit import AuditLog
from app.domain.accounts.principal import Principal, RequestMeta


class AuditOut(msgspec.Struct):
    id: uuid.UUID
    actor_id: uuid.UUID | None
    actor: str | None
    action: str
    resource_type: str
    resource_id: str | None
    project_id: uuid.UUID | None
    ip: str | None
    user_agent: str | None
    result: str
    detail: dict[str, Any]
    created_at: datetime


def record(
    session: AsyncSession,
    principal: Principal | None,
    action: str,
    resource_type: str,
    resource_id: object | None = None,
    *,
    project_id: uuid.UUID | None = None,
    result: str = "success",
    detail: dict[str, Any] | None = None,
    meta: RequestMeta | None = None,
    actor_name: str | None = None,
) -> None:
    """Add an audit row to the caller's transaction (never holds secrets: callers pass names only)."""
    meta = meta or (principal.meta if principal else RequestMeta())
    session.add(
        AuditLog(
            actor_id=principal.user_id if principal and principal.via != "system" else None,
            actor=principal.username if principal else actor_name,
            action=action,
            resource_type=resource_type,
            resource_id=str(resource_id) if resource_id is not None else None,
            project_id=project_id,
            ip=meta.ip,
            user_agent=(meta.user_agent or "")[:300] or None,
            result=result,
            detail=detail or {},
        )
    )


async def query(
    session: AsyncSession,
    *,
    actor: str | None,
    action: str | None,
    resource_type: str | None,
    project_ids: list[uuid.UUID] | None,
    limit: int,
    offset: int,
) -> tuple[list[AuditOut], int]:
    """Filtered newest-first page; ``project_ids`` restricts a non-admin to projects they own."""
    stmt = select(AuditLog)
    if actor:
        stmt = stmt.where(AuditLog.actor == actor)
    if action:
        stmt = stmt.where(AuditLog.action == action)
    if resource_type:
        stmt = stmt.where(AuditLog.resource_type == resource_type)
    if project_ids is not None:
        stmt = stmt.where(AuditLog.project_id.in_(project_ids))
    total = await session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = await session.scalars(
        stmt.order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(limit).offset(offset)
    )
    return [
        AuditOut(
            id=r.id, actor_id=r.actor_id, actor=r.actor, action=r.action, resource_type=r.resource_type,
            resource_id=r.resource_id, project_id=r.project_id, ip=r.ip, user_agent=r.user_agent,
            result=r.result, detail=r.detail, created_at=r.created_at,
        )
        for r in rows
    ], total

"""Per-user notifications published on each user's channel (consumed by /ws/notifications)."""

from __future__ import annotations

from sqlalchemy import select

from app.db.models.accounts import User
from app.db.models.executions import Execution
from app.db.models.pipelines import Pipeline
from app.db.models.projects import ProjectMember
from app.domain.projects.permissions import role_at_least
from app.domain.runtime import Runtime
from app.lib.clock import utcnow
from app.lib.events import NotificationEvent, encode


async def _pipeline_name(rt: Runtime, execution: Execution) -> str:
    async with rt.sessionmaker() as session:
        return await session.scalar(select(Pipeline.name).where(Pipeline.id == execution.pipeline_id)) or "pipeline"


async def notify_approval_requested(rt: Runtime, execution: Execution, step: str, role: str) -> None:
    """Everyone who may approve (members with the role or above, and admins) is told."""
    async with rt.sessionmaker() as session:
        members = (
            await session.execute(
                select(ProjectMember.user_id, ProjectMember.role).where(
                    ProjectMember.project_id == execution.project_id
                )
            )
        ).all()
        admins = list(await session.scalars(select(User.id).where(User.is_admin.is_(True))))
    targets = {str(uid) for uid, r in members if role_at_least(r, role)} | {str(a) for a in admins}
    name = await _pipeline_name(rt, execution)
    event = NotificationEvent(
        kind="approval.requested",
        ts=utcnow().isoformat(),
        execution_id=str(execution.id),
        project_id=str(execution.project_id),
        step=step,
        message=f"{name} #{execution.number}: step {step} waits for your approval",
    )
    await rt.publisher.publish([rt.channels.user(t) for t in sorted(targets)], encode(event))


async def notify_execution_finished(rt: Runtime, execution: Execution) -> None:
    """The user who started the run hears how it ended."""
    if execution.created_by is None:
        return
    name = await _pipeline_name(rt, execution)
    event = NotificationEvent(
        kind="execution.finished",
        ts=utcnow().isoformat(),
        execution_id=str(execution.id),
        project_id=str(execution.project_id),
        message=f"{name} #{execution.number} finished: {execution.status}",
    )
    await rt.publisher.publish([rt.channels.user(str(execution.created_by))], encode(event))

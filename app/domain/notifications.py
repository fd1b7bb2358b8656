"""Per-user notifications published on each user's channel (consumed by /ws/notifications), and the
deployment's notification webhook for finished runs.

Which finished runs are announced is a system setting: ``notify_on_failure`` (failed or timed out,
on by default) and ``notify_on_success`` (off by default); cancelled runs were stopped by someone
and are not announced. The user who started the run hears it in the UI, and when
``notification_webhook_url`` is set a chat-style JSON message (``{"text": ...}`` plus the run's
fields) is posted there, in the background, so a slow chat server never holds up a worker. The URL
is logged by host only: chat webhook URLs carry their secret in the path.
"""

from __future__ import annotations

import asyncio

import httpx
import structlog
from sqlalchemy import select

from app.db.models.accounts import User
from app.db.models.executions import Execution
from app.db.models.pipelines import Pipeline
from app.db.models.projects import ProjectMember
from app.domain.projects.permissions import role_at_least
from app.domain.runners.notify import post_json, webhook_host
from app.domain.runtime import Runtime
from app.domain.settings.service import SystemSettings, current_settings
from app.lib.clock import utcnow
from app.lib.events import NotificationEvent, encode

FAILURES = frozenset({"failed", "timed_out"})
log = structlog.get_logger("ansflow.notifications")
_POSTS: set[asyncio.Task[None]] = set()


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


def announced(system: SystemSettings, status: str) -> bool:
    return system.notify_on_success if status == "success" else system.notify_on_failure and status in FAILURES


async def notify_execution_finished(rt: Runtime, execution: Execution) -> None:
    """Announce a finished run (as the system settings say): to its starter, and to the webhook."""
    system = await current_settings(rt)
    if not announced(system, execution.status):
        return
    name = await _pipeline_name(rt, execution)
    event = NotificationEvent(
        kind="execution.finished",
        ts=utcnow().isoformat(),
        execution_id=str(execution.id),
        project_id=str(execution.project_id),
        message=f"{name} #{execution.number} finished: {execution.status}",
    )
    if execution.created_by is not None:
        await rt.publisher.publish([rt.channels.user(str(execution.created_by))], encode(event))
    if system.notification_webhook_url:
        payload = {"text": event.message, "event": event.kind, "status": execution.status, "pipeline": name,
                   "number": execution.number, "execution_id": event.execution_id, "project_id": event.project_id}
        task = asyncio.get_running_loop().create_task(_post(system.notification_webhook_url, payload))
        _POSTS.add(task)
        task.add_done_callback(_POSTS.discard)


async def _post(url: str, payload: dict[str, object]) -> None:
    host = webhook_host(url)
    try:
        status = await post_json(url, payload)
    except httpx.HTTPError as exc:
        log.warning("notification webhook failed", host=host, error=type(exc).__name__)
        return
    if status >= 400:
        log.warning("notification webhook refused", host=host, status=status)

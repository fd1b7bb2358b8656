"""A project's webhook settings: the secret (maintainers set it, nobody reads it back), the URLs to
paste into the forge, and the delivery log members read to see why a push did or did not run."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.projects import Project
from app.db.models.webhooks import WebhookDelivery
from app.domain.accounts.principal import Principal
from app.domain.audit.service import record
from app.domain.projects.access import require
from app.domain.projects.permissions import Action
from app.domain.runtime import Runtime
from app.domain.triggers.schemas import DeliveryOut, WebhookOut, WebhookUrls
from app.domain.triggers.webhooks import PROVIDERS
from app.lib.errors import NotFound


def _out(project: Project, base_url: str) -> WebhookOut:
    urls = {p: f"{base_url.rstrip('/')}/api/v1/hooks/{p}/{project.id}" for p in PROVIDERS}
    return WebhookOut(urls=WebhookUrls(**urls), has_secret=project.webhook_secret_encrypted is not None)


async def _project(session: AsyncSession, project_id: uuid.UUID) -> Project:
    project = await session.get(Project, project_id)
    if project is None:
        raise NotFound("project not found")
    return project


async def get_webhook(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, base_url: str
) -> WebhookOut:
    """base_url: where forges reach this server (the request's), so the URLs can be pasted as they are."""
    await require(session, rt, actor, project_id, Action.READ)
    return _out(await _project(session, project_id), base_url)


async def put_secret(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, secret: str, base_url: str
) -> WebhookOut:
    """Encrypted at rest with the SecretBox; replacing it invalidates the forge's old signatures at once."""
    await require(session, rt, actor, project_id, Action.EDIT)
    project = await _project(session, project_id)
    replaced = project.webhook_secret_encrypted is not None
    project.webhook_secret_encrypted = rt.box.encrypt(secret)
    record(session, actor, "webhook.update", "project", project_id, project_id=project_id,
           detail={"replaced": replaced})
    await session.commit()
    return _out(project, base_url)


def _delivery_out(row: WebhookDelivery) -> DeliveryOut:
    return DeliveryOut(id=row.id, provider=row.provider, event=row.event, delivery_id=row.delivery_id,
                       status_code=row.status_code, result=row.result,
                       executions=[uuid.UUID(i) for i in row.execution_ids or []], created_at=row.created_at)


async def list_deliveries(
    session: AsyncSession, rt: Runtime, actor: Principal, project_id: uuid.UUID, limit: int, offset: int
) -> tuple[list[DeliveryOut], int]:
    """Newest first."""
    await require(session, rt, actor, project_id, Action.READ)
    where = WebhookDelivery.project_id == project_id
    total = await session.scalar(select(func.count()).select_from(WebhookDelivery).where(where)) or 0
    rows = await session.scalars(
        select(WebhookDelivery).where(where)
        .order_by(WebhookDelivery.created_at.desc(), WebhookDelivery.id.desc()).limit(limit).offset(offset)
    )
    return [_delivery_out(r) for r in rows], total

"""Receive one forge delivery: authenticate it, record it, start the pipelines whose triggers match.

Exactly-once per delivery id: the delivery row (with the forge's id as its unique idempotency key)
is inserted before any execution and commits together with the first one, so a redelivery, even
a concurrent one, finds the key taken and starts nothing (see once.insert_once). Every delivery
to a project with a secret is recorded, rejected ones included (with a NULL key, so a forger
cannot squat an id).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db.models.pipelines import Pipeline
from app.db.models.projects import Project
from app.db.models.webhooks import WebhookDelivery
from app.domain.accounts.principal import SYSTEM, RequestMeta
from app.domain.audit.service import record
from app.domain.executions.service import create_execution
from app.domain.runtime import Runtime
from app.domain.triggers import webhooks
from app.domain.triggers.once import insert_once
from app.domain.triggers.schemas import DeliveryReceipt
from app.domain.triggers.specs import pipeline_triggers
from app.domain.triggers.webhooks import ForgeEvent, PayloadError
from app.lib.errors import DomainError, NotAuthenticated, NotFound, ValidationFailed

RESULT_MAX = 500


def _finish(
    session: AsyncSession, delivery: WebhookDelivery, status: int, result: str, executions: list[str],
    meta: RequestMeta,
) -> None:
    """Fill in the outcome and audit it in the caller's transaction (the system acts; the forge's ip)."""
    delivery.status_code, delivery.result, delivery.execution_ids = status, result[:RESULT_MAX], executions
    record(
        session, SYSTEM, "webhook.delivery", "webhook_delivery", delivery.id, project_id=delivery.project_id,
        result="success" if status < 400 else "failure", meta=meta,
        detail={"provider": delivery.provider, "event": delivery.event, "delivery_id": delivery.delivery_id,
                "status_code": status, "result": delivery.result, "executions": executions},
    )


async def _record_only(
    session: AsyncSession, project_id: uuid.UUID, provider: str, event: str, delivery_id: str, status: int,
    result: str, meta: RequestMeta,
) -> None:
    """A delivery that starts nothing and claims no id (rejected, unreadable, or a redelivery)."""
    delivery = WebhookDelivery(project_id=project_id, provider=provider, event=event, delivery_id=delivery_id,
                               idempotency_key=None, status_code=status, result="")
    session.add(delivery)
    await session.flush()  # assigns the (time-ordered) id the audit row names
    _finish(session, delivery, status, result, [], meta)
    await session.commit()


async def _start_matching(
    session: AsyncSession, rt: Runtime, project_id: uuid.UUID, event: ForgeEvent
) -> tuple[list[str], list[str]]:
    """Start every pipeline of the project whose triggers match; (execution ids, problems)."""
    # columns, not entities: create_execution must load each pipeline fresh (row-locked), not from
    # this session's identity map where next_number could already be stale
    rows = (await session.execute(
        select(Pipeline.id, Pipeline.name, Pipeline.version, Pipeline.definition)
        .where(Pipeline.project_id == project_id).order_by(Pipeline.name)
    )).all()
    started: list[str] = []
    problems: list[str] = []
    for pipeline_id, name, version, definition in rows:
        triggers = pipeline_triggers(pipeline_id, version, definition)
        if triggers is None or not triggers.matches(event.event, event.branch):
            continue
        try:
            execution = await create_execution(
                session, rt, SYSTEM, pipeline_id, variables={}, priority=None, ref=event.branch,
                trigger=event.event, event=event.event, extra_info=event.trigger_info(),
            )
        except DomainError as exc:  # e.g. deleted meanwhile: report it, start the others
            problems.append(f"{name}: {exc.detail}")
            continue
        started.append(str(execution.id))
    return started, problems


def _outcome(event: ForgeEvent, started: list[str], problems: list[str]) -> tuple[int, str]:
    if started:
        noun = "execution" if len(started) == 1 else "executions"
        text = f"started {len(started)} {noun}"
        return 202, text + (f"; not started: {'; '.join(problems)}" if problems else "")
    if problems:
        return 200, f"ignored: no pipeline could start: {'; '.join(problems)}"
    return 200, f"ignored: no pipeline triggers on {event.event} to {event.branch!r}"


async def _duplicate(
    session: AsyncSession, project_id: uuid.UUID, provider: str, event: str, delivery_id: str, meta: RequestMeta
) -> tuple[int, DeliveryReceipt]:
    original = await session.scalar(select(WebhookDelivery).where(
        WebhookDelivery.project_id == project_id, WebhookDelivery.provider == provider,
        WebhookDelivery.idempotency_key == delivery_id,
    ))
    earlier = original.result if original is not None else "unknown"
    result = f"ignored: delivery {delivery_id} was already received ({earlier})"[:RESULT_MAX]
    await _record_only(session, project_id, provider, event, delivery_id, 200, result, meta)
    ids = list(original.execution_ids) if original is not None else []
    return 200, DeliveryReceipt(delivery_id=delivery_id, executions=[uuid.UUID(i) for i in ids], result=result)


async def receive(
    session: AsyncSession,
    rt: Runtime,
    provider: str,
    project_id: uuid.UUID,
    headers: Mapping[str, str],
    body: bytes,
    meta: RequestMeta,
) -> tuple[int, DeliveryReceipt]:
    """Handle ``POST /hooks/{provider}/{project_id}``; returns the HTTP status and the receipt.

    headers must have lower-case names. Unknown provider, unknown project or no secret: NotFound
    (nothing recorded); bad signature: NotAuthenticated (recorded as rejected).
    """
    if provider not in webhooks.PROVIDERS:
        raise NotFound(f"unknown webhook provider {provider!r}: use one of {', '.join(webhooks.PROVIDERS)}")
    project = await session.get(Project, project_id)
    if project is None or project.webhook_secret_encrypted is None:
        raise NotFound("project not found, or it has no webhook secret set")
    secret = rt.box.decrypt(project.webhook_secret_encrypted)
    name = webhooks.event_name(provider, headers)
    delivery_id = webhooks.delivery_id(provider, headers) or uuid.uuid4().hex
    if not webhooks.verify(provider, secret, headers, body):
        await _record_only(session, project_id, provider, name, delivery_id, 401, "rejected: bad signature", meta)
        raise NotAuthenticated("the webhook signature does not match the project's webhook secret")
    try:
        event = webhooks.parse(provider, headers, body)
    except PayloadError as exc:
        await _record_only(session, project_id, provider, name, delivery_id, 400, f"rejected: {exc}", meta)
        raise ValidationFailed(str(exc)) from exc
    values = {"project_id": project_id, "provider": provider, "event": event.event[:64], "delivery_id": delivery_id,
              "idempotency_key": delivery_id, "status_code": 202, "result": "processing", "execution_ids": []}
    # claims the id; a concurrent twin waits here for our commit, then inserts nothing
    claimed = await insert_once(session, WebhookDelivery, values, ["project_id", "provider", "idempotency_key"])
    if claimed is None:
        await session.rollback()
        return await _duplicate(session, project_id, provider, event.event[:64], delivery_id, meta)
    delivery = await session.get_one(WebhookDelivery, claimed)
    started: list[str] = []
    if event.ignored is not None:
        status, result = 200, f"ignored: {event.ignored}"
    else:
        started, problems = await _start_matching(session, rt, project_id, event)
        status, result = _outcome(event, started, problems)
    _finish(session, delivery, status, result, started, meta)
    await session.commit()
    return status, DeliveryReceipt(delivery_id=delivery_id, executions=[uuid.UUID(i) for i in started],
                                   result=delivery.result)

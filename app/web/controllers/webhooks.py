"""Forge webhooks: the signed receiver (no login: the signature is the auth) and its settings."""

from __future__ import annotations

import uuid
from typing import Any, Final

from litestar import Controller, Request, Response, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.principal import Principal
from app.domain.runtime import Runtime
from app.domain.triggers import config, service
from app.domain.triggers.schemas import DeliveryOut, DeliveryReceipt, WebhookOut, WebhookSecretIn
from app.web.deps import request_meta
from app.web.pagination import Limit, Offset, Page
from app.web.problems import StrictBody, error_responses

MAX_PAYLOAD: Final = 5 * 1024 * 1024  # GitHub caps payloads at 25 MB but real pushes are far smaller
HOOK = "/projects/{project_id:uuid}/webhook"


def _base_url(request: Request[Any, Any, Any]) -> str:
    return str(request.base_url).rstrip("/")


class WebhooksController(Controller):
    path = "/api/v1"
    tags = ["webhooks"]

    @get(HOOK, responses=error_responses(400, 401, 404))
    async def get_webhook(
        self, project_id: uuid.UUID, request: Request[Any, Any, Any], principal: Principal, db: AsyncSession,
        rt: Runtime,
    ) -> WebhookOut:
        """The URL to give each forge, and whether a secret is set (the secret is never returned)."""
        return await config.get_webhook(db, rt, principal, project_id, _base_url(request))

    @put(HOOK, responses=error_responses(400, 401, 403, 404))
    async def put_webhook(
        self, project_id: uuid.UUID, data: StrictBody[WebhookSecretIn], request: Request[Any, Any, Any],
        principal: Principal, db: AsyncSession, rt: Runtime,
    ) -> WebhookOut:
        """Set or replace the secret that deliveries must be signed with (maintainer)."""
        return await config.put_secret(db, rt, principal, project_id, data.secret, _base_url(request))

    @get(HOOK + "/deliveries", responses=error_responses(400, 401, 404))
    async def list_deliveries(
        self, project_id: uuid.UUID, principal: Principal, db: AsyncSession, rt: Runtime, limit: Limit = 20,
        offset: Offset = 0,
    ) -> Page[DeliveryOut]:
        """Every delivery received for the project, newest first, with what it did."""
        items, total = await config.list_deliveries(db, rt, principal, project_id, limit, offset)
        return Page(items=items, total=total, limit=limit, offset=offset)

    @post(
        "/hooks/{provider:str}/{project_id:uuid}",
        status_code=202,
        request_max_body_size=MAX_PAYLOAD,
        responses={
            200: ResponseSpec(DeliveryReceipt, description="valid, but started nothing (see result)"),
            **error_responses(400, 401, 404, 413),
        },
    )
    async def receive(
        self, provider: str, project_id: uuid.UUID, request: Request[Any, Any, Any], db: AsyncSession, rt: Runtime
    ) -> Response[DeliveryReceipt]:
        """A forge delivery (github, gitlab or gitea), authenticated by its signature over the raw body.

        202 when executions started, 200 when the delivery was valid but started nothing (ping, tag
        push, no matching pipeline, a redelivery), 401 for a bad signature, 404 for an unknown
        provider or project or a project without a webhook secret.
        """
        headers = {k.lower(): v for k, v in request.headers.items()}
        body = await request.body()
        status, receipt = await service.receive(db, rt, provider, project_id, headers, body, request_meta(request))
        return Response(receipt, status_code=status)

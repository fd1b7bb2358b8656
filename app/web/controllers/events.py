"""Server-Sent Events for clients without WebSockets (or behind proxies that strip them)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator
from typing import Annotated, Any

from litestar import Controller, Request, get
from litestar.params import Parameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain.accounts.principal import Principal
from app.domain.executions.queries import load_execution
from app.domain.projects.access import require
from app.domain.projects.permissions import Action
from app.domain.runtime import Runtime
from app.lib import errors
from app.web.follow import Heartbeat, LiveFeedLost, follow_execution
from app.web.hub import LiveHubs
from app.web.problems import error_responses

PROXY_SAFE_HEADERS = {"Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"}


class ExecutionEventsController(Controller):
    path = "/api/v1/executions"
    tags = ["executions"]

    @get("/{execution_id:uuid}/events", responses=error_responses(400, 401, 404))
    async def events(
        self,
        request: Request[Any, Any, Any],
        execution_id: uuid.UUID,
        principal: Principal,
        db: AsyncSession,
        rt: Runtime,
        after_seq: Annotated[int, Parameter(ge=0)] = 0,
    ) -> ServerSentEvent:
        """The WebSocket's events as SSE; ``log`` events carry ``id: <seq>`` and Last-Event-ID resumes."""
        execution = await load_execution(db, execution_id)
        await require(db, rt, principal, execution.project_id, Action.READ, what="execution")
        last_event_id = request.headers.get("last-event-id", "")
        start = int(last_event_id) if last_event_id.isdigit() else after_seq
        await db.close()  # hold no connection while streaming

        async def allowed() -> bool:
            async with rt.sessionmaker() as session:
                try:
                    await require(session, rt, principal, execution.project_id, Action.READ)
                except errors.NotFound:
                    return False
            return True

        hubs: LiveHubs = request.app.state.hubs

        async def stream() -> AsyncGenerator[ServerSentEventMessage, None]:
            try:
                async for item in follow_execution(rt, hubs, execution_id, start, allowed):
                    if isinstance(item, Heartbeat):
                        yield ServerSentEventMessage(comment="heartbeat")
                    else:
                        yield ServerSentEventMessage(data=item.text, event=item.kind, id=item.seq)
            except LiveFeedLost as lost:  # the client's EventSource reconnects with Last-Event-ID
                yield ServerSentEventMessage(comment=str(lost), retry=1000)

        return ServerSentEvent(stream(), headers=PROXY_SAFE_HEADERS)

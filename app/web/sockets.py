"""WebSockets (CONTRACT §3): /ws/executions/{id}, /ws/monitor, /ws/notifications.

Auth is the session cookie or ``?token=``; close codes 4401/4403/4404. Each socket holds no
database connection while idle; access is re-checked at every heartbeat, so a user removed
from a project stops receiving its events within one heartbeat.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated, Any
from urllib.parse import urlparse

import msgspec
from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.exceptions import WebSocketDisconnect
from litestar.params import Parameter

from app.domain.accounts.principal import Principal
from app.domain.executions.queries import load_execution
from app.domain.projects.access import require, visible_project_ids
from app.domain.projects.permissions import Action
from app.domain.runtime import Runtime
from app.lib import errors
from app.lib.events import ExecutionStatusEvent, StepStatusEvent, decode_event
from app.lib.metrics import WEBSOCKET_CONNECTIONS
from app.web.deps import resolve_principal
from app.web.follow import HEARTBEAT_S, Heartbeat, drop_pending, follow_execution, next_event

HEARTBEAT_MSG = b'{"type":"heartbeat"}'
METRICS_EVERY_S = 2.0


def _cross_origin(socket: WebSocket[Any, Any, Any]) -> bool:
    """Browsers send cookies on cross-site WebSocket handshakes; only same-origin pages may use them."""
    origin = socket.headers.get("origin")
    return bool(origin) and urlparse(origin).netloc != socket.headers.get("host")


async def _authenticate(socket: WebSocket[Any, Any, Any], rt: Runtime) -> Principal | None:
    async with rt.sessionmaker() as session:
        try:
            principal = await resolve_principal(socket, session)
        except errors.NotAuthenticated:
            await socket.close(code=4401, reason="not authenticated")
            return None
    if principal.via == "session" and _cross_origin(socket):
        await socket.close(code=4403, reason="cross-origin WebSocket with a session cookie")
        return None
    return principal


@asynccontextmanager
async def _counted() -> AsyncIterator[None]:
    WEBSOCKET_CONNECTIONS.inc()
    try:
        yield
    finally:
        WEBSOCKET_CONNECTIONS.dec()


@websocket("/ws/executions/{execution_id:uuid}")
async def execution_socket(
    socket: WebSocket[Any, Any, Any],
    execution_id: uuid.UUID,
    state: State,
    channels: ChannelsPlugin,
    after_seq: Annotated[int, Parameter(ge=0)] = 0,
) -> None:
    """Snapshot, stored lines after ``after_seq``, then live events; closes 1000 after the final status."""
    rt: Runtime = state.runtime
    await socket.accept()
    principal = await _authenticate(socket, rt)
    if principal is None:
        return

    async def allowed() -> bool:
        async with rt.sessionmaker() as session:
            try:
                execution = await load_execution(session, execution_id)
                await require(session, rt, principal, execution.project_id, Action.READ, what="execution")
            except errors.NotFound:
                return False
        return True

    if not await allowed():
        await socket.close(code=4404, reason="execution not found")
        return
    async with _counted():
        try:
            async for item in follow_execution(rt, channels, execution_id, after_seq, allowed):
                if isinstance(item, Heartbeat):
                    await socket.send_text(HEARTBEAT_MSG.decode())
                else:
                    await socket.send_text(item[1].decode())
            await socket.close(code=1000)
        except WebSocketDisconnect:
            return


class _Visibility:
    """The projects a monitor socket may see, refreshed at every heartbeat."""

    def __init__(self, rt: Runtime, principal: Principal) -> None:
        self.rt, self.principal = rt, principal
        self.projects: set[str] | None = set()

    async def refresh(self) -> None:
        async with self.rt.sessionmaker() as session:
            ids = await visible_project_ids(session, self.principal)
        self.projects = None if ids is None else {str(i) for i in ids}

    def sees(self, project_id: str | None) -> bool:
        return self.projects is None or (project_id is not None and project_id in self.projects)


class _MetricsTicker:
    """One overview computation per process every 2 s, shared by all monitor sockets."""

    def __init__(self) -> None:
        self.at = 0.0
        self.payload = b""
        self.lock = asyncio.Lock()

    async def get(self, rt: Runtime) -> bytes:
        async with self.lock:
            if time.monotonic() - self.at >= METRICS_EVERY_S * 0.9:
                from app.domain.monitoring.overview import overview

                data = msgspec.to_builtins(await overview(rt))
                self.payload = msgspec.json.encode({"type": "metrics", **data})
                self.at = time.monotonic()
            return self.payload


_TICKER = _MetricsTicker()


@websocket("/ws/monitor")
async def monitor_socket(socket: WebSocket[Any, Any, Any], state: State, channels: ChannelsPlugin) -> None:
    """Status events of every execution the user may see, plus a metrics message every 2 s."""
    rt: Runtime = state.runtime
    await socket.accept()
    principal = await _authenticate(socket, rt)
    if principal is None:
        return
    visibility = _Visibility(rt, principal)
    await visibility.refresh()
    async with _counted(), channels.start_subscription([rt.channels.global_], history=0) as sub:
        events = sub.iter_events()
        pending: asyncio.Future[bytes] | None = None
        next_metrics = next_heartbeat = time.monotonic()
        try:
            while True:
                now = time.monotonic()
                if now >= next_metrics:
                    await socket.send_text((await _TICKER.get(rt)).decode())
                    next_metrics = now + METRICS_EVERY_S
                if now >= next_heartbeat:
                    await visibility.refresh()
                    await socket.send_text(HEARTBEAT_MSG.decode())
                    next_heartbeat = now + HEARTBEAT_S
                raw, pending = await next_event(events, pending, max(0.05, min(next_metrics, next_heartbeat) - now))
                if raw is None:
                    continue
                event = decode_event(raw)
                if isinstance(event, ExecutionStatusEvent | StepStatusEvent) and visibility.sees(event.project_id):
                    await socket.send_text(raw.decode())
        except WebSocketDisconnect:
            return
        finally:
            await drop_pending(pending)


@websocket("/ws/notifications")
async def notifications_socket(socket: WebSocket[Any, Any, Any], state: State, channels: ChannelsPlugin) -> None:
    """Events for this user: approvals requested of them, their runs finished."""
    rt: Runtime = state.runtime
    await socket.accept()
    principal = await _authenticate(socket, rt)
    if principal is None:
        return
    async with _counted(), channels.start_subscription([rt.channels.user(str(principal.user_id))], history=0) as sub:
        events = sub.iter_events()
        pending: asyncio.Future[bytes] | None = None
        try:
            while True:
                raw, pending = await next_event(events, pending, HEARTBEAT_S)
                await socket.send_text((raw or HEARTBEAT_MSG).decode())
        except WebSocketDisconnect:
            return
        finally:
            await drop_pending(pending)


SOCKETS = [execution_socket, monitor_socket, notifications_socket]

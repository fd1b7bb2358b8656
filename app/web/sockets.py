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
from litestar.datastructures import State
from litestar.exceptions import WebSocketDisconnect
from litestar.params import Parameter

from app.domain.accounts.principal import Principal
from app.domain.executions.queries import project_of
from app.domain.projects.access import require, visible_project_ids
from app.domain.projects.permissions import Action
from app.domain.runtime import Runtime
from app.lib import errors
from app.lib.metrics import WEBSOCKET_CONNECTIONS
from app.web.deps import resolve_principal
from app.web.follow import HEARTBEAT_S, Heartbeat, LiveFeedLost, follow_execution
from app.web.hub import LiveHubs

HEARTBEAT_MSG = '{"type":"heartbeat"}'
STATUS_KINDS = frozenset({"execution.status", "step.status"})
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


def _hubs(state: State) -> LiveHubs:
    hubs: LiveHubs = state.hubs
    return hubs


@websocket("/ws/executions/{execution_id:uuid}")
async def execution_socket(
    socket: WebSocket[Any, Any, Any],
    execution_id: uuid.UUID,
    state: State,
    after_seq: Annotated[int, Parameter(ge=0)] = 0,
) -> None:
    """Snapshot, stored lines after ``after_seq``, then live events; closes 1000 after the final status."""
    rt: Runtime = state.runtime
    await socket.accept()
    principal = await _authenticate(socket, rt)
    if principal is None:
        return
    async with rt.sessionmaker() as session:
        try:
            project_id = await project_of(session, rt, execution_id)
            await require(session, rt, principal, project_id, Action.READ, what="execution")
        except errors.NotFound:
            project_id = None
    if project_id is None:
        await socket.close(code=4404, reason="execution not found")
        return

    async def allowed() -> bool:  # the role is cached: a heartbeat's check costs no query
        async with rt.sessionmaker() as session:
            try:
                await require(session, rt, principal, project_id, Action.READ, what="execution")
            except errors.NotFound:
                return False
        return True

    async with _counted():
        try:
            async for item in follow_execution(rt, _hubs(state), execution_id, after_seq, allowed):
                await socket.send_text(HEARTBEAT_MSG if isinstance(item, Heartbeat) else item.text)
            await socket.close(code=1000)
        except LiveFeedLost as lost:
            await socket.close(code=1012, reason=f"live feed interrupted: reconnect with after_seq={lost.last_seq}")
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
        self.payload = ""
        self.lock = asyncio.Lock()

    async def get(self, rt: Runtime) -> str:
        async with self.lock:
            if time.monotonic() - self.at >= METRICS_EVERY_S * 0.9:
                from app.domain.monitoring.overview import overview

                data = msgspec.to_builtins(await overview(rt))
                self.payload = msgspec.json.encode({"type": "metrics", **data}).decode()
                self.at = time.monotonic()
            return self.payload


_TICKER = _MetricsTicker()


@websocket("/ws/monitor")
async def monitor_socket(socket: WebSocket[Any, Any, Any], state: State) -> None:
    """Status events of every execution the user may see, plus a metrics message every 2 s."""
    rt: Runtime = state.runtime
    await socket.accept()
    principal = await _authenticate(socket, rt)
    if principal is None:
        return
    visibility = _Visibility(rt, principal)
    await visibility.refresh()
    async with _counted(), _hubs(state).follow(rt.channels.global_, METRICS_EVERY_S) as follower:
        try:
            await socket.send_text(await _TICKER.get(rt))
            next_heartbeat = time.monotonic() + HEARTBEAT_S
            while True:
                for item in await follower.take():
                    if item.kind == "tick":
                        await socket.send_text(await _TICKER.get(rt))
                        if time.monotonic() >= next_heartbeat:
                            await visibility.refresh()
                            await socket.send_text(HEARTBEAT_MSG)
                            next_heartbeat = time.monotonic() + HEARTBEAT_S
                    elif item.kind == "gone":
                        await socket.close(code=1012, reason="live feed interrupted: reconnect")
                        return
                    elif item.kind in STATUS_KINDS and visibility.sees(item.event.project_id):
                        await socket.send_text(item.text)
        except WebSocketDisconnect:
            return


@websocket("/ws/notifications")
async def notifications_socket(socket: WebSocket[Any, Any, Any], state: State) -> None:
    """Events for this user: approvals requested of them, their runs finished."""
    rt: Runtime = state.runtime
    await socket.accept()
    principal = await _authenticate(socket, rt)
    if principal is None:
        return
    async with _counted(), _hubs(state).follow(rt.channels.user(str(principal.user_id)), HEARTBEAT_S) as follower:
        try:
            while True:
                for item in await follower.take():
                    if item.kind == "gone":
                        await socket.close(code=1012, reason="live feed interrupted: reconnect")
                        return
                    await socket.send_text(HEARTBEAT_MSG if item.kind == "tick" else item.text)
        except WebSocketDisconnect:
            return


SOCKETS = [execution_socket, monitor_socket, notifications_socket]

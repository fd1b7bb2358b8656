"""The baseline: a bare Litestar app served by granian exactly like the real one (same flags, one worker).

- ``GET /json``: a small JSON object shaped like the pipeline status (what a cached read returns).
- ``GET /list``: a page of 20 execution summaries encoded per request (no database, no auth).
- ``/ws``: a WebSocket that accepts and waits (the idle-connection baseline).
- ``/ws/fanout`` + ``POST /publish``: Litestar's channels plugin (memory backend) fanning log-shaped
  events out to every connected socket, the floor under the app's live log fan-out.
- ``POST /login``: decode the body and verify an argon2 hash with the app's own hasher (same parameters,
  same call on the event loop), then answer like the real login: the floor under the real endpoint.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import time
import uuid
from datetime import UTC, datetime

import msgspec
from litestar import Litestar, WebSocket, get, post, websocket
from litestar.channels import ChannelsPlugin
from litestar.channels.backends.memory import MemoryChannelsBackend
from litestar.exceptions import WebSocketDisconnect

from app.lib.security import hash_password, verify_password


class Status(msgspec.Struct):
    pipeline_id: uuid.UUID
    execution_id: uuid.UUID | None
    number: int | None
    status: str | None
    created_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class Summary(msgspec.Struct):
    id: uuid.UUID
    pipeline_id: uuid.UUID
    project_id: uuid.UUID
    pipeline_version: int
    number: int
    status: str
    trigger: str
    priority: str
    queue_reason: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    duration_ms: int | None


class Page(msgspec.Struct):
    items: list[Summary]
    total: int
    limit: int
    offset: int


class LoginIn(msgspec.Struct, forbid_unknown_fields=True):
    username: str
    password: str


class LoginOut(msgspec.Struct):
    user: dict[str, str]
    csrf_token: str


NOW = datetime.now(UTC)
PIPELINE, PROJECT = uuid.uuid4(), uuid.uuid4()
STATUS = Status(PIPELINE, uuid.uuid4(), 7, "success", NOW, NOW, NOW, 1234)
ROWS = [Summary(uuid.uuid4(), PIPELINE, PROJECT, 1, n, "success", "manual", "normal", None, NOW, NOW, NOW, 50)
        for n in range(20)]


@get("/json")
async def status() -> Status:
    return STATUS


@get("/list")
async def page() -> Page:
    return Page(items=list(ROWS), total=200, limit=20, offset=0)


@websocket("/ws")
async def idle_socket(socket: WebSocket) -> None:  # type: ignore[type-arg]
    """Accept and hold the connection until the client leaves (the idle-connection baseline)."""
    await socket.accept()
    try:
        while True:
            await socket.receive_data(mode="text")
    except WebSocketDisconnect:
        return


class PublishIn(msgspec.Struct):
    n: int
    interval: float


_TASKS: set[asyncio.Task[None]] = set()
FINAL = b'{"type":"execution.status","status":"success"}'


@websocket("/ws/fanout")
async def fanout_socket(socket: WebSocket, channels: ChannelsPlugin) -> None:  # type: ignore[type-arg]
    """Every event published on the ``bench`` channel, until the final status; then close 1000."""
    await socket.accept()
    async with channels.start_subscription(["bench"]) as subscriber:
        async for event in subscriber.iter_events():
            await socket.send_text(event.decode())
            if event == FINAL:
                break
    await socket.close(code=1000)


@post("/publish", status_code=202)
async def publish(data: PublishIn, channels: ChannelsPlugin) -> dict[str, bool]:
    """Publish ``n`` log events ``interval`` seconds apart (text ``BENCHTS <ns> <i>``), then the final status."""

    async def emit() -> None:
        for i in range(data.n):
            event = {"type": "log", "execution_id": "bare", "step": "emit", "seq": i + 1, "stream": "stdout",
                     "text": f"BENCHTS {time.time_ns()} {i}", "ts": datetime.now(UTC).isoformat()}
            channels.publish(msgspec.json.encode(event), "bench")
            if data.interval:
                await asyncio.sleep(data.interval)
            elif i % 100 == 0:
                await asyncio.sleep(0)
        channels.publish(FINAL, "bench")

    task = asyncio.create_task(emit())
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)
    return {"ok": True}


def create_app() -> Litestar:
    password = os.environ.get("BENCH_BARE_PASSWORD", "bench-password")
    password_hash = hash_password(password)

    @post("/login", status_code=200)
    async def login(data: LoginIn) -> LoginOut:
        if not verify_password(password_hash, data.password):
            raise ValueError("bad password")
        return LoginOut(user={"username": data.username}, csrf_token=secrets.token_urlsafe(32))

    channels = ChannelsPlugin(backend=MemoryChannelsBackend(), channels=["bench"], subscriber_max_backlog=10_000,
                              subscriber_backlog_strategy="dropleft")
    return Litestar(route_handlers=[status, page, login, idle_socket, fanout_socket, publish], plugins=[channels],
                    debug=False)

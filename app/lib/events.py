"""Live events: the shapes workers publish and the one publisher factory (Redis or in-process).

Channel names are shared by workers (which PUBLISH) and web processes (which subscribe), so they
live here and nowhere else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Protocol

import msgspec
import redis.asyncio as aioredis
import structlog
from redis.exceptions import RedisError

from app.config import Settings
from app.lib.metrics import EVENTS_DROPPED

log = structlog.get_logger("ansflow.events")


class ExecutionStatusEvent(msgspec.Struct, frozen=True, tag="execution.status", tag_field="type"):
    execution_id: str
    pipeline_id: str
    project_id: str
    status: str
    ts: str
    number: int | None = None
    queue_reason: str | None = None


class StepStatusEvent(msgspec.Struct, frozen=True, tag="step.status", tag_field="type"):
    execution_id: str
    step: str
    status: str
    attempt: int
    exit_code: int | None
    ts: str
    project_id: str | None = None


class LogEvent(msgspec.Struct, frozen=True, tag="log", tag_field="type"):
    execution_id: str
    step: str | None
    seq: int
    stream: str
    text: str
    ts: str


class NotificationEvent(msgspec.Struct, frozen=True, tag="notification", tag_field="type"):
    kind: str
    message: str
    ts: str
    execution_id: str | None = None
    project_id: str | None = None
    step: str | None = None


Event = ExecutionStatusEvent | StepStatusEvent | LogEvent | NotificationEvent
encode = msgspec.json.Encoder().encode
decode_event = msgspec.json.Decoder(Event).decode


class ChannelNames:
    """Per-execution, per-project, per-user and global channel names under one key prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix

    def execution(self, execution_id: str) -> str:
        return f"{self.prefix}:exec:{execution_id}"

    @property
    def global_(self) -> str:
        return f"{self.prefix}:events"

    def user(self, user_id: str) -> str:
        return f"{self.prefix}:user:{user_id}"


class EventPublisher(Protocol):
    async def publish(self, channels: Sequence[str], data: bytes) -> None: ...

    async def publish_many(self, channel: str, items: Sequence[bytes]) -> None: ...

    async def close(self) -> None: ...


Sink = Callable[[str, Sequence[bytes]], None]  # (channel, events): one call per batch, not per event


class LocalBus:
    """In-process fan-out for embedded mode: the web app registers a thread-safe sink."""

    def __init__(self) -> None:
        self._sinks: list[Sink] = []
        self._lock = threading.Lock()

    def add_sink(self, sink: Sink) -> None:
        with self._lock:
            self._sinks.append(sink)

    def remove_sink(self, sink: Sink) -> None:
        with self._lock:
            if sink in self._sinks:
                self._sinks.remove(sink)

    async def publish(self, channels: Sequence[str], data: bytes) -> None:
        with self._lock:
            sinks = list(self._sinks)
        for channel in channels:
            for sink in sinks:
                sink(channel, (data,))

    async def publish_many(self, channel: str, items: Sequence[bytes]) -> None:
        with self._lock:
            sinks = list(self._sinks)
        for sink in sinks:
            sink(channel, items)

    async def close(self) -> None:
        return None


LOCAL_BUS = LocalBus()


class RedisPublisher:
    """Plain PUBLISH, which Litestar's Redis pub/sub channels backend receives as-is.

    Best effort: everything published is already committed, and followers repair what they miss
    from storage (a ``seq`` gap is refilled, a missed final status is read at the next heartbeat).
    So a Redis outage must not fail a running build: failures are counted and logged once per
    outage, and a dead Redis costs at most ``SOCKET_TIMEOUT_S`` per publish.
    """

    SOCKET_TIMEOUT_S = 2.0

    def __init__(self, url: str) -> None:
        self._redis = aioredis.Redis.from_url(url, socket_timeout=self.SOCKET_TIMEOUT_S, socket_connect_timeout=1)
        self._failing = False

    async def publish(self, channels: Sequence[str], data: bytes) -> None:
        await self._send([(channel, data) for channel in channels])

    async def publish_many(self, channel: str, items: Sequence[bytes]) -> None:
        """One round trip for a whole batch of log lines, in order."""
        await self._send([(channel, data) for data in items])

    async def _send(self, messages: list[tuple[str, bytes]]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for channel, data in messages:
                    pipe.publish(channel, data)
                await pipe.execute()
        except (RedisError, OSError) as exc:
            EVENTS_DROPPED.inc(len(messages))
            if not self._failing:
                self._failing = True
                log.warning("live events not published: Redis unavailable (clients repair from storage)",
                            error=repr(exc))
            return
        if self._failing:
            self._failing = False
            log.info("live events published again")

    async def close(self) -> None:
        await self._redis.aclose()


def create_publisher(settings: Settings) -> EventPublisher:
    return RedisPublisher(settings.redis_url) if settings.redis_url else LOCAL_BUS

"""Litestar's Redis pub/sub channels backend, made to survive Redis restarts.

Litestar's backend lets a connection error escape ``stream_events``, which ends the plugin's only
receive loop: every live view of the process would then freeze until a restart. Here the loop
logs, waits (backing off to ``RECONNECT_MAX_S``) and reads again; redis-py reconnects and
re-subscribes the pub/sub connection's channels by itself. Events published meanwhile are lost
to this process, which the followers repair from storage (a ``seq`` gap is refilled; a missed
final status is found at the next heartbeat).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

import structlog
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.exceptions import RedisError

RECONNECT_MAX_S = 5.0
log = structlog.get_logger("ansflow.live")


class ResilientRedisPubSubBackend(RedisChannelsPubSubBackend):
    async def stream_events(self) -> AsyncGenerator[tuple[str, Any], None]:
        delay = 0.1
        while True:
            try:
                async for event in super().stream_events():
                    delay = 0.1
                    yield event
            except (RedisError, OSError) as exc:
                log.warning("live channels lost Redis: retrying", error=repr(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
